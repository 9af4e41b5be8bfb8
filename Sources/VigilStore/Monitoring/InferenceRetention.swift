import Foundation
import Logging
import PostgresNIO
import VigilWorkflow

/// How long logged inferences are kept, and removing what has outlived it.
///
/// The inference log is partitioned by day for all models together, so a day's partition is
/// detached and dropped once every model with rows in it has outlived its retention; a model whose
/// retention is shorter than another's in the same days loses its expired days' rows by `DELETE`
/// from those days' partitions, each day once (`logged_days` says which days a model has rows on).
/// Each removed inference takes its label and its idempotency record with it, and its quarantined
/// rows. Metric tables, window profiles, alerts, runs and the audit log are never pruned.
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
    ///
    /// A model's rows go a whole UTC day at a time, once all of that day has outlived its
    /// retention. The days each model has rows on come from `logged_days`, so a pass reads only
    /// the days it removes: a day that a model with a longer retention keeps is not scanned again.
    public func apply(
        retention: [String: TimeInterval], defaultRetention: TimeInterval?, archive: InferenceArchive? = nil, actor: String, now: Date
    ) async throws -> Report {
        let logger = database.logger
        return try await database.transaction { connection in
            var report = Report()
            func keeps(_ model: String) -> TimeInterval? { retention[model] ?? defaultRetention }
            // Days before this one have outlived `kept` entirely.
            func firstKeptDay(_ kept: TimeInterval) -> Int { Timestamp.day(of: now.timeIntervalSince1970 - kept) }
            func expired(_ models: [String], day: Int) -> Bool {
                models.allSatisfy { model in keeps(model).map { day < firstKeptDay($0) } ?? false }
            }
            guard let shortest = (Array(retention.values) + [defaultRetention].compactMap { $0 }).min() else { return report }
            let logPartitions = try await PartitionDays(of: "inference_log", existingOn: connection, logger: logger)
            let claimPartitions = try await PartitionDays(of: "inference_requests", existingOn: connection, logger: logger)
            for day in logPartitions.newestFirst.reversed() where day < firstKeptDay(shortest) {
                guard let name = logPartitions.partition(of: day) else { continue }
                guard expired(try await LoggedDays.models(on: day, on: connection, logger: logger), day: day) else { continue }
                // No row may arrive between the decision and the drop; one that came just before it
                // has recorded its model by now.
                try await connection.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(Self.quoted(name)) IN EXCLUSIVE MODE"), logger: logger)
                let models = try await LoggedDays.models(on: day, on: connection, logger: logger)
                guard expired(models, day: day) else { continue }
                if let archive {
                    for model in models {
                        var bindings = PostgresBindings()
                        bindings.append(model)
                        let rows = PostgresQuery(unsafeSQL: """
                            SELECT \(InferenceArchive.selectList) FROM \(Self.quoted(name)) l \(InferenceArchive.labelJoin) WHERE l.model = $1
                            """, binds: bindings)
                        if let file = try await archive.export(rows, model: model, day: Self.start(of: day), pass: now, on: connection, logger: logger) {
                            report.archivedFiles.append(file)
                        }
                    }
                }
                // The day's labels go with its requests, and its idempotency records with its rows.
                // Its quarantined rows go in the per-model pass below: every model here has a
                // retention, and its cutoff is past this day.
                if let claims = claimPartitions.partition(of: day) {
                    try await connection.query(PostgresQuery(unsafeSQL: """
                        DELETE FROM inference_labels l USING \(Self.quoted(claims)) r WHERE l.model = r.model AND l.request_id = r.request_id
                        """), logger: logger)
                    try await Self.drop(claims, of: "inference_requests", on: connection, logger: logger)
                }
                try await Self.drop(name, of: "inference_log", on: connection, logger: logger)
                try await LoggedDays.remove(day: day, model: nil, on: connection, logger: logger)
                report.droppedPartitions.append(name)
            }
            // Without a default only the models named have anything to remove; with one, every
            // model that has logged an inference.
            let models = defaultRetention == nil ? retention.keys.sorted() : try await connection.query(
                "SELECT model FROM logged_models ORDER BY model", logger: logger
            ).collect().map { try $0.decode(String.self) }
            for model in models {
                guard let kept = keeps(model) else { continue }
                let firstKept = firstKeptDay(kept)
                var deleted = 0
                for day in try await LoggedDays.days(of: model, through: firstKept - 1, on: connection, logger: logger) {
                    // The entry goes first: a load still storing rows of this day holds it, and the
                    // deletes below start once it has committed, so they see its rows.
                    try await LoggedDays.remove(day: day, model: model, on: connection, logger: logger)
                    if let name = logPartitions.partition(of: day) {
                        let removed = if let archive {
                            try await deleteArchiving(model, day: day, from: name, into: archive, report: &report, now: now, on: connection)
                        } else {
                            try await connection.query(PostgresQuery(unsafeSQL: """
                                WITH d AS (DELETE FROM \(Self.quoted(name)) WHERE model = $1 RETURNING 1) SELECT count(*)::int8 FROM d
                                """, binds: Self.bindings(model)), logger: logger).decode(Int.self).first { _ in true } ?? 0
                        }
                        deleted += removed
                    }
                    if let claims = claimPartitions.partition(of: day) {
                        try await connection.query(PostgresQuery(unsafeSQL: """
                            DELETE FROM inference_labels l USING \(Self.quoted(claims)) r WHERE r.model = $1 AND l.model = r.model AND l.request_id = r.request_id
                            """, binds: Self.bindings(model)), logger: logger)
                        try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(Self.quoted(claims)) WHERE model = $1", binds: Self.bindings(model)), logger: logger)
                    }
                }
                try await connection.query("DELETE FROM quarantined_rows WHERE model = \(model) AND ts < \(Self.start(of: firstKept))", logger: logger)
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

    /// Deletes `model`'s rows from the day partition `name`, writing them to the archive as they
    /// are deleted (the file holds exactly the rows the statement removed).
    private func deleteArchiving(
        _ model: String, day: Int, from name: String, into archive: InferenceArchive, report: inout Report, now: Date, on connection: PostgresConnection
    ) async throws -> Int {
        let rows = PostgresQuery(unsafeSQL: """
            WITH l AS (DELETE FROM \(Self.quoted(name)) WHERE model = $1 RETURNING *)
            SELECT \(InferenceArchive.selectList) FROM l \(InferenceArchive.labelJoin)
            """, binds: Self.bindings(model))
        guard let file = try await archive.export(rows, model: model, day: Self.start(of: day), pass: now, on: connection, logger: database.logger) else {
            return 0
        }
        report.archivedFiles.append(file)
        return Int(file.rows)
    }

    /// Detaches the partition `name` from `parent` and drops it.
    private static func drop(_ name: String, of parent: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(parent) DETACH PARTITION \(quoted(name))"), logger: logger)
        try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE \(quoted(name))"), logger: logger)
    }

    /// The start of `day` (days since 1970-01-01).
    private static func start(of day: Int) -> Date { Date(timeIntervalSince1970: Double(day) * 86_400) }

    private static func bindings(_ model: String) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(model)
        return bindings
    }

    /// A partition name as an SQL identifier (names come from the catalog and are letters, digits and `_`).
    private static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
