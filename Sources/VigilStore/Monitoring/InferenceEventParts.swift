import Foundation
import PostgresNIO

/// The request and response halves of logged inferences, paired by event id
/// (`inference_event_parts`): KServe's payload logger posts them as two CloudEvents.
public struct InferenceEventParts: Sendable {
    /// Which half.
    public enum Part: String, Sendable {
        case request, response
    }

    /// Both halves of one inference, as stored.
    public struct Pair: Sendable {
        public let id: String
        /// The request's body and the response's, as JSON text.
        public let request: String
        public let response: String
        /// The earlier of the two events' own times, when either says.
        public let time: Date?
    }

    /// A half is dropped when its other has not come within this long.
    public static let patience: TimeInterval = 86_400

    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Keeps one half (once: the same half again changes nothing) and returns the pair when the
    /// other is already here. Halves of one id are taken one at a time, so of two arriving at
    /// once exactly one sees the pair.
    public func add(model: String, id: String, part: Part, body: String, time: Date?, now: Date) async throws -> Pair? {
        try await database.transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(model + "\u{1F}" + id), 0))", logger: database.logger)
            try await connection.query("""
                INSERT INTO inference_event_parts (model, event_id, part, body, event_time, received_at)
                VALUES (\(model), \(id), \(part.rawValue), \(body)::jsonb, \(time), \(now))
                ON CONFLICT (model, event_id, part) DO NOTHING
                """, logger: database.logger)
            try await connection.query("DELETE FROM inference_event_parts WHERE received_at < \(now.addingTimeInterval(-Self.patience))", logger: database.logger)
            let rows = try await connection.query("""
                SELECT part, body::text, event_time FROM inference_event_parts WHERE model = \(model) AND event_id = \(id)
                """, logger: database.logger)
            var halves: [String: (body: String, time: Date?)] = [:]
            for try await (name, text, at) in rows.decode((String, String, Date?).self) { halves[name] = (text, at) }
            guard let request = halves["request"], let response = halves["response"] else { return nil }
            return Pair(id: id, request: request.body, response: response.body, time: [request.time, response.time].compactMap { $0 }.min())
        }
    }

    /// Forgets a pair once its rows are in the log.
    public func remove(model: String, id: String) async throws {
        try await database.client.query("DELETE FROM inference_event_parts WHERE model = \(model) AND event_id = \(id)", logger: database.logger)
    }
}
