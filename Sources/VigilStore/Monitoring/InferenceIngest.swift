import Foundation
import Logging
import NIOCore
import PostgresNIO
import VigilStatistics
import VigilWorkflow

/// Loads an inference log file (CSV or JSON lines) into `inference_log` through COPY.
///
/// Every row is checked against the model's declared feature schema and the log's own columns.
/// A row that breaks them goes to `quarantined_rows` with its line and reason, and is counted;
/// the rest load. A malformed file (an unclosed quote, a line with the wrong number of fields,
/// invalid JSON) stops the load with the line named, and nothing of the file is kept: the whole
/// file is one transaction.
///
/// Columns: `request_id` and `ts` (or `timestamp`) are required; `model_version`, `role`,
/// `prediction`, `score`, `probabilities` (a JSON object), `latency_ms`, `error` and `label`
/// are read when present; every other column is a feature.
public struct InferenceIngest: Sendable {
    public struct Options: Sendable {
        public var model: String
        /// The declared features; empty to store features unchecked.
        public var features: [ColumnSchema] = []
        public var actor: String
        /// For rows without a `model_version` column.
        public var modelVersion = ""
        /// For rows without a `role` column.
        public var role = "champion"
        /// Rows parsed and sent per COPY chunk.
        public var chunkRows = 50_000
        /// How long a label without its inference is kept (the workflow's `data.label_grace`).
        public var labelGrace = MonitoredData.defaultLabelGrace

        public init(model: String, features: [ColumnSchema] = [], actor: String) {
            self.model = model
            self.features = features
            self.actor = actor
        }
    }

    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// The roles a logged prediction can have.
    public static let roles: Set<String> = ["champion", "challenger", "shadow", "canary"]
    static let copyColumns = ["model", "model_version", "role", "request_id", "ts", "features", "prediction", "score", "probabilities", "latency_ms", "error", "batch_id", "embeddings"]

    /// Loads `reader`'s file.
    ///
    /// Loading is idempotent: a row whose request (model, request id, role) is already stored, or
    /// comes earlier in the same file, is counted as already present and not written again.
    ///
    /// The claims go in with COPY, whose primary-key check refuses a request stored before; the
    /// first such refusal rolls the load back, and the file is loaded again claiming each request
    /// with `ON CONFLICT DO NOTHING`, which skips the stored ones. So a new file pays only COPY's
    /// key check, and a file that repeats stored requests pays its first chunks twice over.
    ///
    /// - Throws: ``DataFileError`` for malformed input (nothing is loaded), ``StoreError`` otherwise.
    public func load(
        _ reader: DataRecordReader, options: Options, progress: (@Sendable (IngestProgress) -> Void)? = nil
    ) async throws -> IngestReport {
        let clock = ContinuousClock.now
        let report: IngestReport
        do {
            report = try await attempt(reader, options: options, claims: .copied, since: clock, progress: progress)
        } catch where Self.isStoredRequest(error) {
            database.logger.info("the file repeats requests already stored; loading it again, skipping them", metadata: ["file": "\(reader.file)"])
            report = try await attempt(reader.restarted(), options: options, claims: .checked, since: clock, progress: progress)
        }
        try await refreshStatistics()
        return report
    }

    /// How a load claims its rows' requests in `inference_requests`.
    enum ClaimMode {
        /// COPY: fast, and fails the load on a request stored before.
        case copied
        /// `INSERT … ON CONFLICT DO NOTHING`: keeps the rows whose request is new.
        case checked
    }

    /// Whether `error` is COPY's refusal of a claim already in `inference_requests` (its primary key,
    /// or a day partition's, `inference_requests_YYYYMMDD_pkey`), or a deadlock
    /// with another load claiming the same requests in another order (the database ends one of
    /// the two; the second pass, one chunk per statement, waits instead).
    static func isStoredRequest(_ error: any Error) -> Bool {
        let state = StoreError.sqlState(of: error)
        if state == "40P01" { return true }
        guard state == "23505" else { return false }
        let underlying = (error as? PostgresTransactionError)?.closureError ?? error
        guard let constraint = (underlying as? PSQLError)?.serverInfo?[.constraintName] else { return false }
        return constraint.hasPrefix("inference_requests_") && constraint.hasSuffix("_pkey")
    }

    /// One load of the file, in one transaction.
    private func attempt(
        _ reader: DataRecordReader, options: Options, claims mode: ClaimMode, since clock: ContinuousClock.Instant,
        progress: (@Sendable (IngestProgress) -> Void)?
    ) async throws -> IngestReport {
        let started = Date()
        return try await database.transaction { connection in
            let batchID = try await connection.query("""
                INSERT INTO ingest_batches (model, kind, source, actor, rows_read, rows_loaded, quarantined, started_at, finished_at)
                VALUES (\(options.model), 'inferences', \(reader.file), \(options.actor), 0, 0, 0, \(started), \(started)) RETURNING id
                """, logger: database.logger).decode(Int.self).first { _ in true } ?? 0
            try await connection.query("INSERT INTO logged_models (model) VALUES (\(options.model)) ON CONFLICT DO NOTHING", logger: database.logger)
            let pipeline = ChunkPipeline(encoder: InferenceRowEncoder(options: options, batchID: batchID, columns: reader.columnNames), reader: reader)
            var partitions = try await PartitionDays(existingOn: connection, logger: database.logger)
            var recordedDays = Set<Int>()
            let labelsWaiting = try await Self.hasUnmatchedLabels(model: options.model, on: connection, logger: database.logger)
            var inserted = 0
            func elapsed() -> Double {
                let duration = ContinuousClock.now - clock
                return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            }
            var pending = pipeline.encodeNext()
            do {
                while true {
                    let chunk = try await pending.value
                    // The next chunk is parsed while this one is claimed and copied.
                    if !chunk.isLast { pending = pipeline.encodeNext() }
                    // New days need partitions, for the claims and the log, before the COPYs that route rows to them.
                    try await partitions.ensure(chunk.days, database: database)
                    let unrecorded = chunk.days.subtracting(recordedDays)
                    if !unrecorded.isEmpty {
                        try await LoggedDays.record(unrecorded, model: options.model, database: database, holdingOn: connection)
                        recordedDays.formUnion(unrecorded)
                    }
                    let (rows, fresh) = switch mode {
                    case .copied: try await Self.claimCopied(chunk, on: connection, logger: database.logger)
                    case .checked: try await Self.claimChecked(chunk, model: options.model, on: connection, logger: database.logger)
                    }
                    inserted += fresh.count
                    if !rows.isEmpty {
                        try await connection.copyFrom(table: "inference_log", columns: Self.copyColumns, logger: database.logger) { writer in
                            try await writer.write(ByteBuffer(bytes: rows))
                        }
                    }
                    if labelsWaiting { try await LabelStore.matched(fresh, model: options.model, on: connection, logger: database.logger) }
                    progress?(IngestProgress(
                        rowsRead: chunk.rowsRead, quarantined: chunk.quarantined, seconds: elapsed(), bytesRead: chunk.bytesRead, bytesTotal: reader.byteCount
                    ))
                    if chunk.isLast { break }
                }
            } catch {
                // The chunk being parsed must finish before the reader and encoder are let go.
                _ = try? await pending.value
                throw error
            }
            let encoder = pipeline.finished()
            try Self.checkColumns(of: reader, rowsRead: encoder.rowsRead)
            try await Self.insertQuarantine(encoder.quarantined, batchID: batchID, model: options.model, on: connection, logger: database.logger)
            let labels = try await LabelStore.upsert(encoder.labels, model: options.model, batchID: batchID, actor: options.actor,
                                                     grace: options.labelGrace, on: connection, logger: database.logger)
            let alreadyPresent = encoder.rowsRead - encoder.quarantined.count - inserted
            try await connection.query("""
                UPDATE ingest_batches SET rows_read = \(encoder.rowsRead), rows_loaded = \(inserted), already_present = \(alreadyPresent),
                    quarantined = \(encoder.quarantined.count), labels_unchanged = \(labels.unchanged), labels_corrected = \(labels.corrected),
                    labels_unmatched = \(labels.unmatched), finished_at = \(Date())
                WHERE id = \(batchID)
                """, logger: database.logger)
            let declared = Set(options.features.map(\.name))
            return IngestReport(
                batchID: batchID, model: options.model, rowsRead: encoder.rowsRead, rowsLoaded: inserted, alreadyPresent: alreadyPresent,
                quarantined: encoder.quarantined.count, labels: labels.new + labels.corrected, labelOutcome: labels,
                undeclaredColumns: options.features.isEmpty ? [] : encoder.featureColumns.filter { !declared.contains($0) },
                quarantineSample: encoder.quarantined.prefix(20).map { QuarantinedRow(line: $0.line, column: $0.column, reason: $0.reason) },
                seconds: elapsed()
            )
        }
    }

    /// Claims the chunk's requests with COPY. Every row is kept: a request stored before fails
    /// the COPY (and the load) with a unique violation on `inference_requests_pkey`.
    static func claimCopied(
        _ chunk: InferenceRowEncoder.Chunk, on connection: PostgresConnection, logger: Logger
    ) async throws -> (rows: [UInt8], requestIDs: [String]) {
        guard !chunk.keys.isEmpty else { return ([], []) }
        try await connection.copyFrom(table: "inference_requests", columns: InferenceRowEncoder.claimColumns, logger: logger) { writer in
            try await writer.write(ByteBuffer(bytes: chunk.claims))
        }
        return (chunk.rows, chunk.keys.map(\.requestID))
    }

    /// Claims the chunk's requests in `inference_requests` and keeps the rows that claimed one:
    /// those whose request was not stored before. Returns those rows' COPY text and request ids.
    ///
    /// The keys go up once and only a verdict comes back: nothing when every row claimed its
    /// request, else the positions of the rows that did. They are inserted in the index's order,
    /// so each leaf page of a large index is visited once per chunk.
    static func claimChecked(
        _ chunk: InferenceRowEncoder.Chunk, model: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> (rows: [UInt8], requestIDs: [String]) {
        guard !chunk.keys.isEmpty else { return ([], []) }
        let requestIDs = chunk.keys.map(\.requestID)
        let verdict = try await connection.query("""
            WITH input AS (
                SELECT * FROM unnest(\(chunk.keys.map(\.key.uuid))::uuid[], \(requestIDs)::text[], \(chunk.keys.map(\.role))::text[],
                                     \(chunk.keys.map { Timestamp.day(of: $0.seconds) })::int4[])
                              WITH ORDINALITY AS k(key, request_id, role, day_number, n)
            ), claimed AS (
                INSERT INTO inference_requests (key, model, request_id, role, day)
                SELECT key, \(model), request_id, role, date '1970-01-01' + day_number FROM input ORDER BY key
                ON CONFLICT DO NOTHING
                RETURNING key, role, day - date '1970-01-01' AS day_number
            )
            SELECT CASE WHEN (SELECT count(*) FROM claimed) = \(chunk.keys.count) THEN NULL ELSE (
                SELECT coalesce(array_agg(i.n ORDER BY i.n), '{}') FROM input i JOIN claimed c USING (key, role, day_number)
            ) END
            """, logger: logger)
        guard let kept = try await verdict.decode([Int]?.self).first(where: { _ in true }) ?? nil else { return (chunk.rows, requestIDs) }
        var rows: [UInt8] = []
        var fresh: [String] = []
        rows.reserveCapacity(chunk.rows.count)
        for position in kept {
            let index = position - 1
            let end = index + 1 < chunk.keys.count ? chunk.keys[index + 1].start : chunk.rows.count
            rows.append(contentsOf: chunk.rows[chunk.keys[index].start..<end])
            fresh.append(requestIDs[index])
        }
        return (rows, fresh)
    }

    /// Refuses a file with no rows, or a CSV file whose header lacks `request_id` or `ts`: it is
    /// not an inference log, and quarantining every row of it would only hide that.
    static func checkColumns(of reader: DataRecordReader, rowsRead: Int) throws(DataFileError) {
        guard rowsRead > 0 else { throw DataFileError(file: reader.file, line: nil, "the file holds no rows; nothing to load") }
        guard reader.format == .csv else { return }
        let columns = Set(reader.columnNames)
        for (names, what) in [(["request_id"], "request_id"), (["ts", "timestamp"], "ts (or timestamp)")] where columns.isDisjoint(with: names) {
            throw DataFileError(file: reader.file, line: 1, "the header has no \(what) column (it has \(reader.columnNames.prefix(10).joined(separator: ", ")))")
        }
    }

    private static func hasUnmatchedLabels(model: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("SELECT EXISTS (SELECT 1 FROM unmatched_labels WHERE model = \(model))", logger: logger)
        return try await rows.decode(Bool.self).first { _ in true } ?? false
    }

    /// Analyzes the partitions of `inference_log`, and `inference_labels`, whose planner
    /// statistics a load has outgrown: never analyzed, or changed by more than a fifth since.
    ///
    /// A fresh day partition has no statistics until autovacuum gets to it (a minute or more);
    /// meanwhile the planner takes it for empty and joins its rows to their labels by nested loop,
    /// which turns the monitor's second-long pass over a few hundred thousand rows into minutes.
    /// Loads call this after they commit; it reads `pg_stat_user_tables` and analyzes only what needs it.
    public func refreshStatistics() async throws {
        let rows = try await database.client.query("""
            SELECT s.relname::text FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
            WHERE (s.relname = 'inference_labels' OR s.relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'inference_log'::regclass))
              AND s.n_mod_since_analyze > 0
              AND (coalesce(s.last_analyze, s.last_autoanalyze) IS NULL OR s.n_mod_since_analyze > greatest(500, 0.2 * c.reltuples))
            """, logger: database.logger)
        for try await table in rows.decode(String.self) {
            // Names from the catalogue, quoted: inference_log_YYYYMMDD or inference_labels.
            try await database.client.query(PostgresQuery(unsafeSQL: "ANALYZE \"\(table.replacingOccurrences(of: "\"", with: "\"\""))\""), logger: database.logger)
        }
    }

    /// Creates the daily partitions of `inference_log` for every day from `from` to `to`
    /// (those that exist are kept), for rows written without `vigil ingest`.
    public func createPartitions(from: Date, to: Date) async throws {
        try await database.client.query("SELECT vigil_ensure_inference_partitions(\(from), \(to))", logger: database.logger)
    }

    private static func insertQuarantine(
        _ rows: [InferenceRowEncoder.Rejected], batchID: Int, model: String, on connection: PostgresConnection, logger: Logger
    ) async throws {
        for start in stride(from: 0, to: rows.count, by: 10_000) {
            let part = rows[start..<min(start + 10_000, rows.count)]
            try await connection.query("""
                INSERT INTO quarantined_rows (batch_id, model, row_number, ts, column_name, reason, raw)
                SELECT \(batchID), \(model), r.line, CASE WHEN r.ts = 'NaN' THEN NULL ELSE to_timestamp(r.ts) END, NULLIF(r.col, ''), r.reason, r.raw
                FROM unnest(\(part.map(\.line))::bigint[], \(part.map { $0.timestamp ?? .nan })::float8[], \(part.map { $0.column ?? "" })::text[],
                            \(part.map(\.reason))::text[], \(part.map(\.raw))::text[]) AS r(line, ts, col, reason, raw)
                """, logger: logger)
        }
    }
}

/// The days that have a partition of a day-partitioned table (`inference_log` or
/// `inference_requests`, whose partitions are named `TABLE_YYYYMMDD`), and creating the missing ones.
struct PartitionDays {
    /// The partitioned table: `inference_log` or `inference_requests`.
    let parent: String
    private var days: Set<Int>

    init(of parent: String = "inference_log", existingOn connection: PostgresConnection, logger: Logger) async throws {
        self.parent = parent
        let rows = try await connection.query("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = \(parent)::regclass
            """, logger: logger)
        var days = Set<Int>()
        for try await name in rows.decode(String.self) {
            if let day = Self.day(ofPartition: name, of: parent) { days.insert(day) }
        }
        self.days = days
    }

    /// The day (days since 1970-01-01) a partition named `PARENT_YYYYMMDD` holds, or `nil` for
    /// any other name.
    static func day(ofPartition name: String, of parent: String) -> Int? {
        let digits = name.utf8.dropFirst(parent.utf8.count + 1)
        guard name.hasPrefix(parent + "_"), digits.count == 8, digits.allSatisfy({ (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains($0) }) else {
            return nil
        }
        let number = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        return Timestamp.daysFromCivil(year: number / 10_000, month: number / 100 % 100, day: number % 100)
    }

    /// The days, newest first (days since 1970-01-01).
    var newestFirst: [Int] { days.sorted(by: >) }

    /// The name of `day`'s partition, `PARENT_YYYYMMDD`, if it has one.
    func partition(of day: Int) -> String? {
        guard days.contains(day) else { return nil }
        var stamp: [UInt8] = []
        Timestamp.format(Double(day) * 86_400, into: &stamp)
        return parent + "_" + String(decoding: stamp.prefix(10).filter { $0 != UInt8(ascii: "-") }, as: UTF8.self)
    }

    /// Creates partitions for the days in `needed` that have none, and only those: a batch with
    /// rows months apart gets two days' partitions, not every day between. Runs on its own
    /// connection and commits at once: partitions are attached, which does not wait for the
    /// ingest's open transaction.
    mutating func ensure(_ needed: Set<Int>, database: Database) async throws {
        var missing = needed.subtracting(days).sorted()[...]
        while let first = missing.first {
            // One call per run of consecutive days.
            var last = first
            while missing.count > last - first + 1, missing[missing.startIndex + last - first + 1] == last + 1 { last += 1 }
            try await InferenceIngest(database: database).createPartitions(
                from: Date(timeIntervalSince1970: Double(first) * 86_400), to: Date(timeIntervalSince1970: Double(last) * 86_400)
            )
            days.formUnion(first...last)
            missing = missing.dropFirst(last - first + 1)
        }
    }
}
