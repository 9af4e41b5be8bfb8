import Foundation
import PostgresNIO
import VigilWorkflow

/// Writes what a serving layer logs: predictions (`inference_log`) and, later, their labels
/// (`inference_labels`). Used by the traffic simulator; real serving layers use `vigil ingest` or
/// the API's batch endpoints, which check and quarantine.
public struct ServingLog: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// One logged prediction.
    public struct Prediction: Sendable, Equatable {
        public var requestID: String
        public var ts: Date
        public var version: Int
        /// champion, canary or shadow
        public var role: String
        public var features: [String: JSONValue]
        public var prediction: String
        public var score: Double
        public var latency: Double
        public var error: Bool

        public init(requestID: String, ts: Date, version: Int, role: String, features: [String: JSONValue], prediction: String, score: Double,
                    latency: Double, error: Bool) {
            self.requestID = requestID
            self.ts = ts
            self.version = version
            self.role = role
            self.features = features
            self.prediction = prediction
            self.score = score
            self.latency = latency
            self.error = error
        }
    }

    /// Appends predictions of `model` (creating the day partitions they need), in one transaction;
    /// each arrives (`ingested_at`) when it was made, as a serving layer logging live would have it.
    public func append(_ predictions: [Prediction], model: String) async throws {
        guard let first = predictions.map(\.ts).min(), let last = predictions.map(\.ts).max() else { return }
        try await InferenceIngest(database: database).createPartitions(from: first, to: last)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let features = try predictions.map { String(decoding: try encoder.encode($0.features), as: UTF8.self) }
        try await database.transaction { connection in
            try await connection.query("INSERT INTO logged_models (model) VALUES (\(model)) ON CONFLICT DO NOTHING", logger: database.logger)
            try await LoggedDays.record(Set(predictions.map { Timestamp.day(of: $0.ts.timeIntervalSince1970) }), model: model,
                                        database: database, holdingOn: connection)
            for start in stride(from: 0, to: predictions.count, by: 5_000) {
                let chunk = predictions[start..<min(start + 5_000, predictions.count)]
                // A request logged before (same id and role) is not logged again, as with `vigil ingest`.
                try await connection.query("""
                    WITH t AS (
                        SELECT * FROM unnest(\(chunk.map { String($0.version) }), \(chunk.map(\.role)), \(chunk.map(\.requestID)), \(chunk.map(\.ts)),
                                             \(Array(features[start..<min(start + 5_000, predictions.count)])), \(chunk.map(\.prediction)),
                                             \(chunk.map(\.score)), \(chunk.map(\.latency)), \(chunk.map(\.error))) AS t(v, r, id, ts, f, p, s, l, e)
                    ), fresh AS (
                        INSERT INTO inference_requests (key, model, request_id, role, day)
                        SELECT vigil_request_key(\(model), id), \(model), id, r, (ts AT TIME ZONE 'UTC')::date FROM t
                        ON CONFLICT DO NOTHING RETURNING request_id, role
                    )
                    INSERT INTO inference_log (model, model_version, role, request_id, ts, features, prediction, score, latency_ms, error, ingested_at)
                    SELECT DISTINCT ON (t.r, t.id) \(model), v, r, id, ts, f::json, p, s, l, e, ts
                    FROM t JOIN fresh ON fresh.request_id = t.id AND fresh.role = t.r
                    """, logger: database.logger)
            }
        }
        try await InferenceIngest(database: database).refreshStatistics()
    }

    /// Records ground truth for requests of `model` (a label that arrives again replaces the old one).
    public func label(_ labels: [(requestID: String, label: String, receivedAt: Date)], model: String) async throws {
        guard !labels.isEmpty else { return }
        try await database.client.query("""
            INSERT INTO inference_labels (model, request_id, label, received_at, known_at)
            SELECT \(model), id, label, at, at FROM unnest(\(labels.map(\.requestID)), \(labels.map(\.label)), \(labels.map(\.receivedAt))) AS t(id, label, at)
            ON CONFLICT (model, request_id) DO UPDATE SET label = EXCLUDED.label, received_at = EXCLUDED.received_at, known_at = EXCLUDED.known_at
            """, logger: database.logger)
        try await InferenceIngest(database: database).refreshStatistics()
    }
}
