import Foundation
import PostgresNIO

/// The plain database operations `vigil bench` measures Vigil against: the least any tool pays
/// for the same work on the same PostgreSQL (a bare COPY, a bare scan).
public struct BenchmarkFloor: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Creates `bench_plain` with `columns` text columns and COPYs `chunks` of tab-separated
    /// lines into it: the floor of any ingest. Returns the seconds the COPY took.
    public func timePlainCopy(columns count: Int, chunks: [[UInt8]]) async throws -> Double {
        let columns = (1...max(1, count)).map { "c\($0)" }
        try await database.client.query("CREATE TABLE bench_plain (\(unescaped: columns.map { "\($0) text" }.joined(separator: ", ")))", logger: database.logger)
        let buffers = chunks.map { ByteBuffer(bytes: $0) }
        let start = ContinuousClock.now
        try await database.client.withConnection { connection in
            try await connection.copyFrom(table: "bench_plain", columns: columns, logger: database.logger) { writer in
                for buffer in buffers { try await writer.write(buffer) }
            }
        }
        return (ContinuousClock.now - start).seconds
    }

    /// Refreshes the planner's statistics of the inference log after a bulk load, as an operator would.
    public func analyzeInferenceLog() async throws {
        try await database.client.query("VACUUM ANALYZE inference_log", logger: database.logger)
    }

    /// VACUUM ANALYZE of the day partition holding `date` (UTC), as autovacuum would after a
    /// day's bulk load, without revisiting the days before it.
    public func vacuumAnalyzeDay(of date: Date) async throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let day = calendar.dateComponents([.year, .month, .day], from: date)
        guard let year = day.year, let month = day.month, let dayOfMonth = day.day else { return }
        let name = "inference_log_" + String(format: "%04d%02d%02d", year, month, dayOfMonth)
        try await database.client.query("VACUUM ANALYZE \(unescaped: name)", logger: database.logger)
    }

    /// Bytes the inference log takes on disk: every partition, with its indexes and TOAST.
    public func inferenceLogBytes() async throws -> Int {
        try await partitionedBytes("inference_log")
    }

    /// Bytes the requests' idempotency records (`inference_requests`) take on disk, indexes included.
    public func requestClaimBytes() async throws -> Int {
        try await partitionedBytes("inference_requests")
    }

    private func partitionedBytes(_ table: String) async throws -> Int {
        let rows = try await database.client.query("""
            SELECT coalesce(sum(pg_total_relation_size(relid)), 0)::int8 FROM pg_partition_tree(\(table)::regclass) WHERE isleaf
            """, logger: database.logger)
        return try await rows.decode(Int.self).first { _ in true } ?? 0
    }

    /// Streams `model`'s monitored columns from `start` up to `end` to this process, as any client
    /// reading them would: the floor of a monitor pass. `labelled` joins each row's label as the
    /// monitor does. Returns the rows read and the seconds taken.
    public func timeScan(model: String, from start: Date, to end: Date, labelled: Bool = false) async throws -> (rows: Int, seconds: Double) {
        let began = ContinuousClock.now
        // The label's column and join, as the monitor reads them; nothing for an unlabelled scan.
        let (label, join) = labelled
            ? (", y.label", "LEFT JOIN inference_labels y ON y.model = t.model AND y.request_id = t.request_id")
            : ("", "")
        let rows = try await database.client.query("""
            SELECT t.features, t.prediction, t.score, t.latency_ms, t.error\(unescaped: label) FROM inference_log t \(unescaped: join)
            WHERE t.model = \(model) AND t.role = ANY('{champion,canary}') AND t.ts >= \(start) AND t.ts < \(end)
            """, logger: database.logger)
        var count = 0
        for try await _ in rows { count += 1 }
        return (count, (ContinuousClock.now - began).seconds)
    }
}

extension Duration {
    /// This duration in seconds, fractions included.
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
