import Foundation
import PostgresNIO

/// The state of the whole service, read from the database at once, for `/metrics`: the same for
/// every server that reads it, since all state is in PostgreSQL.
public struct ServiceSnapshot: Sendable {
    public struct Count: Sendable {
        public let labels: [(String, String)]
        public let value: Double
    }

    /// Runs by workflow and state.
    public var runs: [Count] = []
    /// Steps by type and state.
    public var steps: [Count] = []
    /// Steps ready and waiting for a worker.
    public var queueDepth = 0.0
    /// Seconds from ready to claimed, over steps started in the last hour: quantile → seconds.
    public var claimLatency: [(quantile: String, seconds: Double)] = []
    /// Finished steps by type: how many, and their total seconds.
    public var stepDurations: [(type: String, count: Double, seconds: Double)] = []
    /// Open alerts by model, severity and state.
    public var openAlerts: [Count] = []
    /// The latest window's drift score by model and feature (overall, not per slice).
    public var drift: [Count] = []
    /// The latest window's performance metrics by model and metric.
    public var performance: [Count] = []
    /// Rows loaded and quarantined by model, since the beginning.
    public var ingested: [Count] = []
    public var quarantined: [Count] = []
    /// The outbox: notifications pending, the oldest's age, dead ones, and dead letters so far.
    public var notifications = NotificationOutbox.Backlog(pending: 0, oldestPendingAge: 0, deadLettered: 0, dead: 0)
    /// Consecutive failed rounds by channel.
    public var channelFailures: [Count] = []

    /// Reads the snapshot; `hiddenModels` are left out of every per-model series.
    public static func read(from database: Database, hiding hiddenModels: Set<String>) async throws -> ServiceSnapshot {
        var snapshot = ServiceSnapshot()
        let hidden = Array(hiddenModels)
        func counts(_ query: PostgresQuery, _ names: [String]) async throws -> [Count] {
            var result: [Count] = []
            for try await row in try await database.client.query(query, logger: database.logger) {
                let cells = row.makeRandomAccess()
                var labels: [(String, String)] = []
                for (index, name) in names.enumerated() { labels.append((name, try cells[index].decode(String.self))) }
                result.append(Count(labels: labels, value: try cells[names.count].decode(Double.self)))
            }
            return result
        }
        snapshot.runs = try await counts("SELECT workflow, state, count(*)::float8 FROM runs GROUP BY 1, 2 ORDER BY 1, 2", ["workflow", "state"])
        snapshot.steps = try await counts("SELECT type, state, count(*)::float8 FROM steps GROUP BY 1, 2 ORDER BY 1, 2", ["type", "state"])
        for try await depth in try await database.client.query("SELECT count(*)::float8 FROM steps WHERE state = 'ready'", logger: database.logger).decode(Double.self) {
            snapshot.queueDepth = depth
        }
        let latency = try await database.client.query("""
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - ready_at)),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - ready_at)),
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - ready_at))
            FROM steps WHERE started_at > now() - interval '1 hour' AND ready_at IS NOT NULL AND started_at >= ready_at
            """, logger: database.logger)
        for try await (p50, p95, p99) in latency.decode((Double?, Double?, Double?).self) {
            snapshot.claimLatency = [("0.5", p50), ("0.95", p95), ("0.99", p99)].compactMap { quantile, value in value.map { (quantile, $0) } }
        }
        let durations = try await database.client.query("""
            SELECT type, count(*)::float8, coalesce(sum(extract(epoch FROM finished_at - started_at)), 0)::float8 FROM steps
            WHERE finished_at IS NOT NULL AND started_at IS NOT NULL GROUP BY type ORDER BY type
            """, logger: database.logger)
        for try await (type, count, seconds) in durations.decode((String, Double, Double).self) { snapshot.stepDurations.append((type, count, seconds)) }
        snapshot.openAlerts = try await counts("""
            SELECT model, severity, state, count(*)::float8 FROM alerts WHERE state <> 'resolved' AND NOT model = ANY(\(hidden)) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """, ["model", "severity", "state"])
        snapshot.drift = try await counts("""
            SELECT DISTINCT ON (model, feature_name) model, feature_name, drift_score FROM drift_metrics
            WHERE slice_key IS NULL AND NOT model = ANY(\(hidden)) ORDER BY model, feature_name, window_start_time DESC
            """, ["model", "feature"])
        snapshot.performance = try await counts("""
            SELECT DISTINCT ON (model, metric) model, metric, value FROM performance_metrics
            WHERE slice_key IS NULL AND variant IS NULL AND NOT estimated AND NOT model = ANY(\(hidden)) ORDER BY model, metric, window_start_time DESC
            """, ["model", "metric"])
        snapshot.ingested = try await counts("""
            SELECT model, sum(rows_loaded)::float8 FROM ingest_batches WHERE kind = 'inferences' AND NOT model = ANY(\(hidden)) GROUP BY 1 ORDER BY 1
            """, ["model"])
        snapshot.quarantined = try await counts("""
            SELECT model, sum(quarantined)::float8 FROM ingest_batches WHERE NOT model = ANY(\(hidden)) GROUP BY 1 ORDER BY 1
            """, ["model"])
        snapshot.notifications = try await NotificationOutbox(database: database).backlog(now: Date())
        snapshot.channelFailures = try await counts("SELECT channel, consecutive_failures::float8 FROM channel_health ORDER BY 1", ["channel"])
        return snapshot
    }
}
