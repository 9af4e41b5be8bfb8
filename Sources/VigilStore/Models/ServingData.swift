import Foundation
import PostgresNIO
import VigilWorkflow

/// What the serving layer logged, read for training, shadow comparison and canary guards.
public struct ServingData: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// A logged request with its ground truth.
    public struct LabelledRow: Sendable {
        public let requestID: String
        public let ts: Date
        public let features: [String: JSONValue]
        public let label: String
        public let prediction: String?
        public let latency: Double?

        public init(requestID: String, ts: Date, features: [String: JSONValue], label: String, prediction: String?, latency: Double?) {
            self.requestID = requestID
            self.ts = ts
            self.features = features
            self.label = label
            self.prediction = prediction
            self.latency = latency
        }
    }

    /// Requests of `model` served by the champion or the canary in `[from, to)` whose labels have
    /// arrived, oldest first (at most `limit`, the most recent ones).
    public func labelledRows(model: String, from: Date, to: Date, limit: Int = 200_000) async throws -> [LabelledRow] {
        let rows = try await database.client.query("""
            SELECT * FROM (
                SELECT l.request_id, l.ts, l.features::text, b.label, l.prediction, l.latency_ms
                FROM inference_log l JOIN inference_labels b ON b.model = l.model AND b.request_id = l.request_id
                WHERE l.model = \(model) AND l.ts >= \(from) AND l.ts < \(to) AND l.role IN ('champion', 'canary')
                ORDER BY l.ts DESC LIMIT \(limit)
            ) recent ORDER BY ts, request_id
            """, logger: database.logger)
        var result: [LabelledRow] = []
        for try await (request, ts, features, label, prediction, latency) in rows.decode((String, Date, String, String, String?, Double?).self) {
            let decoded = (try? JSONText.decode([String: JSONValue].self, from: features)) ?? [:]
            result.append(LabelledRow(requestID: request, ts: ts, features: decoded, label: label, prediction: prediction, latency: latency))
        }
        return result
    }

    /// One request answered by the champion and, in shadow, by the challenger.
    public struct ShadowPair: Sendable {
        public let label: String
        public let championPrediction: String
        public let challengerPrediction: String
        public let championScore: Double?
        public let challengerScore: Double?
        public let championLatency: Double?
        public let challengerLatency: Double?
    }

    /// Requests in `[from, to)` the champion answered and the challenger answered in shadow (role
    /// `shadow`, the same request id), with their labels.
    public func shadowPairs(model: String, champion: Int, challenger: Int, from: Date, to: Date) async throws -> [ShadowPair] {
        // One scan grouped by request, not a self-join: a day partition just written has no
        // statistics yet, and the planner would nest two scans of it.
        let rows = try await database.client.query("""
            SELECT b.label, p.champion, p.challenger, p.champion_score, p.challenger_score, p.champion_latency, p.challenger_latency
            FROM (
                SELECT l.request_id,
                       min(l.ts) FILTER (WHERE l.role = 'champion') AS ts,
                       min(l.prediction) FILTER (WHERE l.role = 'champion') AS champion,
                       min(l.prediction) FILTER (WHERE l.role = 'shadow') AS challenger,
                       min(l.score) FILTER (WHERE l.role = 'champion') AS champion_score,
                       min(l.score) FILTER (WHERE l.role = 'shadow') AS challenger_score,
                       min(l.latency_ms) FILTER (WHERE l.role = 'champion') AS champion_latency,
                       min(l.latency_ms) FILTER (WHERE l.role = 'shadow') AS challenger_latency
                FROM inference_log l
                WHERE l.model = \(model) AND l.prediction IS NOT NULL AND (
                    (l.role = 'champion' AND l.model_version = \(String(champion)) AND l.ts >= \(from) AND l.ts < \(to))
                    OR (l.role = 'shadow' AND l.model_version = \(String(challenger))
                        AND l.ts >= \(from.addingTimeInterval(-3_600)) AND l.ts < \(to.addingTimeInterval(3_600))))
                GROUP BY l.request_id
            ) p
            JOIN inference_labels b ON b.model = \(model) AND b.request_id = p.request_id
            WHERE p.champion IS NOT NULL AND p.challenger IS NOT NULL
            ORDER BY p.ts, p.request_id
            """, logger: database.logger)
        var pairs: [ShadowPair] = []
        for try await (label, first, second, firstScore, secondScore, firstLatency, secondLatency)
            in rows.decode((String, String, String, Double?, Double?, Double?, Double?).self) {
            pairs.append(ShadowPair(label: label, championPrediction: first, challengerPrediction: second, championScore: firstScore,
                                    challengerScore: secondScore, championLatency: firstLatency, challengerLatency: secondLatency))
        }
        return pairs
    }

    /// How one version served its share of traffic in a period.
    public struct Traffic: Sendable, Equatable {
        public let requests: Int
        public let errors: Int
        public let latencyP95: Double?
        public let labelled: Int
        public let correct: Int

        public var errorRate: Double { requests == 0 ? 0 : Double(errors) / Double(requests) }
        public var accuracy: Double? { labelled == 0 ? nil : Double(correct) / Double(labelled) }
    }

    /// The traffic `version` of `model` served in role `role` in `[from, to)`.
    public func traffic(model: String, version: Int, role: String, from: Date, to: Date) async throws -> Traffic {
        let rows = try await database.client.query("""
            SELECT count(*)::int8, count(*) FILTER (WHERE l.error)::int8,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY l.latency_ms),
                   count(b.label)::int8, count(*) FILTER (WHERE b.label IS NOT NULL AND b.label = l.prediction)::int8
            FROM inference_log l LEFT JOIN inference_labels b ON b.model = l.model AND b.request_id = l.request_id
            WHERE l.model = \(model) AND l.model_version = \(String(version)) AND l.role = \(role) AND l.ts >= \(from) AND l.ts < \(to)
            """, logger: database.logger)
        for try await (requests, errors, p95, labelled, correct) in rows.decode((Int, Int, Double?, Int, Int).self) {
            return Traffic(requests: requests, errors: errors, latencyP95: p95, labelled: labelled, correct: correct)
        }
        return Traffic(requests: 0, errors: 0, latencyP95: nil, labelled: 0, correct: 0)
    }
}

extension ServingData {
    /// How often each (prediction, label) pair occurred among the labelled requests the model
    /// answered (champion or canary, not shadow) in `[from, to)`: a confusion matrix to pool.
    public func outcomes(model: String, from: Date, to: Date) async throws -> [(prediction: String, label: String, count: Int)] {
        let rows = try await database.client.query("""
            SELECT l.prediction, b.label, count(*)::int8
            FROM inference_log l JOIN inference_labels b ON b.model = l.model AND b.request_id = l.request_id
            WHERE l.model = \(model) AND l.ts >= \(from) AND l.ts < \(to) AND l.role IN ('champion', 'canary') AND l.prediction IS NOT NULL
            GROUP BY 1, 2 ORDER BY 1, 2
            """, logger: database.logger)
        var outcomes: [(prediction: String, label: String, count: Int)] = []
        for try await (prediction, label, count) in rows.decode((String, String, Int).self) { outcomes.append((prediction, label, count)) }
        return outcomes
    }

    /// When the first label of a request the model answered at or after `since` became known
    /// (`known_at`), if one did by `until`: the earliest a realised metric could say anything
    /// about that period.
    public func firstLabelKnown(model: String, predictedSince since: Date, until: Date) async throws -> Date? {
        let rows = try await database.client.query("""
            SELECT min(b.known_at)
            FROM inference_log l JOIN inference_labels b ON b.model = l.model AND b.request_id = l.request_id
            WHERE l.model = \(model) AND l.ts >= \(since) AND l.role IN ('champion', 'canary') AND b.known_at <= \(until)
            """, logger: database.logger)
        return try await rows.decode(Date?.self).first { _ in true } ?? nil
    }
}
