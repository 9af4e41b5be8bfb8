import Foundation
import Logging
import PostgresNIO
import VigilWorkflow

/// How long logged inferences are kept, and removing what has outlived it.
///
/// The inference log is partitioned by day for all models together, so a day's partition is
/// detached and dropped once every model with rows in it has outlived its retention; a model whose
/// retention is shorter than another's in the same days loses its expired rows by `DELETE`, which
/// partition pruning keeps to the expired days. Each removed inference takes its label and its
/// idempotency record with it, and its quarantined rows. Metric tables, window profiles, alerts,
/// runs and the audit log are never pruned.
public struct InferenceRetention: Sendable {
    /// What one pass removed.
    public struct Report: Sendable, Equatable {
        /// The partitions dropped, oldest first (`inference_log_YYYYMMDD`).
        public var droppedPartitions: [String] = []
        /// Rows deleted from partitions that stay, by model.
        public var deletedRows: [String: Int] = [:]
        /// The Parquet files the removed rows were exported to first, when an archive is configured.
        public var archivedFiles: [InferenceArchive.File] = []
    }

    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Removes what has outlived `retention` (seconds by model) at `now`; models not named keep
    /// `defaultRetention`, or everything when it is `nil`. With an `archive`, every row removed is
    /// first written to a Parquet file there, and a row is removed only once its file is in place.
    /// Audited as `retention.applied` by `actor` when anything was removed.
    public func apply(
        retention: [String: TimeInterval], defaultRetention: TimeInterval?, archive: InferenceArchive? = nil, actor: String, now: Date
    ) async throws -> Report {
        let logger = database.logger
        return try await database.transaction { connection in
            var report = Report()
            func keeps(_ model: String) -> TimeInterval? { retention[model] ?? defaultRetention }
            guard let shortest = (Array(retention.values) + [defaultRetention].compactMap { $0 }).min() else { return report }
            let partitions = try await connection.query("""
                SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'inference_log'::regclass ORDER BY c.relname
                """, logger: logger).collect().map { try $0.decode(String.self) }
            for name in partitions {
                // Only days that even the shortest retention has passed are worth reading.
                guard let end = Self.partitionEnd(name), end <= now.addingTimeInterval(-shortest) else { continue }
                let models = try await connection.query(PostgresQuery(unsafeSQL: "SELECT DISTINCT model FROM \(Self.quoted(name))"), logger: logger)
                    .collect().map { try $0.decode(String.self) }
                let expired = models.allSatisfy { model in keeps(model).map { end <= now.addingTimeInterval(-$0) } ?? false }
                guard expired else { continue }
                if let archive, let start = Self.partitionStart(name) {
                    // No row may arrive between the export and the drop.
                    try await connection.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(Self.quoted(name)) IN EXCLUSIVE MODE"), logger: logger)
                    for model in models.sorted() {
                        var bindings = PostgresBindings()
                        bindings.append(model)
                        let rows = PostgresQuery(unsafeSQL: """
                            SELECT \(InferenceArchive.selectList) FROM \(Self.quoted(name)) l \(InferenceArchive.labelJoin) WHERE l.model = $1
                            """, binds: bindings)
                        if let file = try await archive.export(rows, model: model, day: start, pass: now, on: connection, logger: logger) {
                            report.archivedFiles.append(file)
                        }
                    }
                }
                // The day's labels go with its requests, and its idempotency records with its rows.
                // Its quarantined rows go in the per-model pass below: every model here has a
                // retention, and its cutoff is past this day.
                let claims = "inference_requests_" + name.dropFirst("inference_log_".count)
                if try await Self.exists(claims, on: connection, logger: logger) {
                    try await connection.query(PostgresQuery(unsafeSQL: """
                        DELETE FROM inference_labels l USING \(Self.quoted(claims)) r WHERE l.model = r.model AND l.request_id = r.request_id
                        """), logger: logger)
                    try await Self.drop(claims, of: "inference_requests", on: connection, logger: logger)
                }
                try await Self.drop(name, of: "inference_log", on: connection, logger: logger)
                report.droppedPartitions.append(name)
            }
            // Without a default only the models named have anything to remove; with one, every
            // model that has logged an inference.
            let models = defaultRetention == nil ? retention.keys.sorted() : try await connection.query(
                "SELECT model FROM logged_models ORDER BY model", logger: logger
            ).collect().map { try $0.decode(String.self) }
            for model in models {
                guard let kept = keeps(model) else { continue }
                let cutoff = now.addingTimeInterval(-kept)
                let deleted = if let archive {
                    try await deleteArchiving(model, before: cutoff, into: archive, report: &report, now: now, on: connection)
                } else {
                    try await connection.query("""
                        WITH d AS (DELETE FROM inference_log WHERE model = \(model) AND ts < \(cutoff) RETURNING 1) SELECT count(*)::int8 FROM d
                        """, logger: logger).decode(Int.self).first { _ in true } ?? 0
                }
                try await Self.forgetRequests(of: model, before: cutoff, on: connection, logger: logger)
                if deleted > 0 { report.deletedRows[model] = deleted }
            }
            if !report.droppedPartitions.isEmpty || !report.deletedRows.isEmpty {
                try await AuditLog.append(
                    actor: actor, action: "retention.applied", subject: "inference_log", reason: nil,
                    details: [
                        "dropped_partitions": .array(report.droppedPartitions.map(JSONValue.string)),
                        "deleted_rows": .object(report.deletedRows.mapValues { .number(Double($0)) }),
                        "archived_files": .array(report.archivedFiles.map { file in
                            .object(["path": .string(file.path), "model": .string(file.model), "day": .string(file.day),
                                     "rows": .number(Double(file.rows)), "sha256": .string(file.sha256)])
                        }),
                    ],
                    at: now, on: connection, logger: logger
                )
            }
            return report
        }
    }

    /// Deletes `model`'s rows before `cutoff` one day partition at a time, each day's rows written
    /// to the archive as they are deleted (the file holds exactly the rows the statement removed).
    private func deleteArchiving(
        _ model: String, before cutoff: Date, into archive: InferenceArchive, report: inout Report, now: Date, on connection: PostgresConnection
    ) async throws -> Int {
        let partitions = try await connection.query("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'inference_log'::regclass ORDER BY c.relname
            """, logger: database.logger).collect().map { try $0.decode(String.self) }
        var deleted = 0
        for name in partitions {
            guard let start = Self.partitionStart(name), start < cutoff else { continue }
            var bindings = PostgresBindings()
            bindings.append(model)
            bindings.append(cutoff)
            let rows = PostgresQuery(unsafeSQL: """
                WITH l AS (DELETE FROM \(Self.quoted(name)) WHERE model = $1 AND ts < $2 RETURNING *)
                SELECT \(InferenceArchive.selectList) FROM l \(InferenceArchive.labelJoin)
                """, binds: bindings)
            if let file = try await archive.export(rows, model: model, day: start, pass: now, on: connection, logger: database.logger) {
                report.archivedFiles.append(file)
                deleted += Int(file.rows)
            }
        }
        return deleted
    }

    /// Whether the table `name` exists.
    private static func exists(_ name: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await connection.query("SELECT to_regclass(\(quoted(name))) IS NOT NULL", logger: logger).decode(Bool.self).first { _ in true } ?? false
    }

    /// Detaches the partition `name` from `parent` and drops it.
    private static func drop(_ name: String, of parent: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(parent) DETACH PARTITION \(quoted(name))"), logger: logger)
        try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE \(quoted(name))"), logger: logger)
    }

    /// Deletes the labels, idempotency records and quarantined rows of `model`'s requests before
    /// `cutoff`. The claims' day bounds the days read.
    private static func forgetRequests(of model: String, before cutoff: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("""
            DELETE FROM inference_labels l USING inference_requests r
            WHERE r.model = \(model) AND r.ts < \(cutoff) AND r.day <= (\(cutoff)::timestamptz AT TIME ZONE 'UTC')::date
              AND l.model = r.model AND l.request_id = r.request_id
            """, logger: logger)
        try await connection.query("""
            DELETE FROM inference_requests WHERE model = \(model) AND ts < \(cutoff) AND day <= (\(cutoff)::timestamptz AT TIME ZONE 'UTC')::date
            """, logger: logger)
        try await connection.query("DELETE FROM quarantined_rows WHERE model = \(model) AND ts < \(cutoff)", logger: logger)
    }

    /// The end of the day a partition named `inference_log_YYYYMMDD` holds.
    static func partitionEnd(_ name: String) -> Date? {
        partitionStart(name).map { $0.addingTimeInterval(86_400) }
    }

    /// The start of the day a partition named `inference_log_YYYYMMDD` holds.
    static func partitionStart(_ name: String) -> Date? {
        PartitionDays.day(ofPartition: name, of: "inference_log").map { Date(timeIntervalSince1970: Double($0) * 86_400) }
    }

    /// A partition name as an SQL identifier (names come from the catalog and are letters, digits and `_`).
    private static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
