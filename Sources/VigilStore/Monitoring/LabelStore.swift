import Foundation
import Logging
import PostgresNIO
import VigilWorkflow

/// Ground truth that arrives after the prediction: `inference_labels`, one label per
/// (model, request id), joined to `inference_log` by request id.
///
/// Loading is idempotent: a label equal to the stored one changes nothing. A different one is a
/// correction: the newest wins in metrics (and moves `received_at`, so the monitor recomputes that
/// prediction's window), the previous value is kept in `label_corrections`, and the batch's
/// corrections are audited. A label for a request no inference has been logged for yet is kept
/// (in `unmatched_labels` too) and joins when the inference arrives; after the workflow's
/// `label_grace` without one it is deleted.
public struct LabelStore: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// The columns a label file may have.
    static let columns = ["request_id", "label", "label_ts"]

    /// Loads a label file: `request_id` and `label` columns, one row per request, and optionally
    /// `label_ts`, when the label became known (an RFC 3339 time or Unix seconds; the ingest
    /// time when absent or empty).
    ///
    /// A row without a request id or label, or with a `label_ts` that is not a time, is quarantined
    /// with its line; a file with any other column, or malformed, loads nothing.
    /// - Parameter grace: how long a label without its inference is kept.
    public func load(_ reader: DataRecordReader, model: String, actor: String, grace: WorkflowDuration = MonitoredData.defaultLabelGrace) async throws -> IngestReport {
        let started = Date()
        var batch = LabelBatch()
        var rejected: [(line: Int, column: String, reason: String, raw: String)] = []
        var rowsRead = 0
        var requestColumn = -1, labelColumn = -1, knownColumn = -1
        while let record = try reader.next() {
            if let unknown = reader.columnNames.first(where: { !Self.columns.contains($0) }) {
                throw DataFileError(
                    file: reader.file, line: reader.format == .csv ? 1 : record.line,
                    "unknown column '\(unknown)' in a label file (it takes request_id, label and, optionally, label_ts: when the label became known)"
                )
            }
            if requestColumn < 0 || labelColumn < 0 || knownColumn < 0 {
                requestColumn = reader.columnNames.firstIndex(of: "request_id") ?? -1
                labelColumn = reader.columnNames.firstIndex(of: "label") ?? -1
                knownColumn = reader.columnNames.firstIndex(of: "label_ts") ?? -1
            }
            rowsRead += 1
            guard requestColumn >= 0, !record.isMissing(requestColumn), let requestID = record.text(requestColumn) else {
                rejected.append((record.line, "request_id", "request_id is missing", record.raw))
                continue
            }
            guard labelColumn >= 0, !record.isMissing(labelColumn), let label = record.text(labelColumn) else {
                rejected.append((record.line, "label", "label is missing", record.raw))
                continue
            }
            var knownAt: Date?
            if knownColumn >= 0, !record.isMissing(knownColumn), let text = record.text(knownColumn) {
                guard let seconds = Timestamp.parse(text) else {
                    rejected.append((record.line, "label_ts", "label_ts '\(text.prefix(40))' is not \(Timestamp.rangeDescription)", record.raw))
                    continue
                }
                knownAt = Date(timeIntervalSince1970: seconds)
            }
            batch.append(requestID: requestID, label: label, knownAt: knownAt)
        }
        guard rowsRead > 0 else { throw DataFileError(file: reader.file, line: nil, "the file holds no rows; nothing to load") }
        if reader.format == .csv, requestColumn < 0 || labelColumn < 0 {
            throw DataFileError(file: reader.file, line: 1, "the header needs request_id and label columns (it has \(reader.columnNames.prefix(10).joined(separator: ", ")))")
        }
        let (id, outcome) = try await database.transaction { connection in
            let id = try await connection.query("""
                INSERT INTO ingest_batches (model, kind, source, actor, rows_read, rows_loaded, quarantined, started_at, finished_at)
                VALUES (\(model), 'labels', \(reader.file), \(actor), \(rowsRead), 0, \(rejected.count), \(started), \(started))
                RETURNING id
                """, logger: database.logger).decode(Int.self).first { _ in true } ?? 0
            let outcome = try await Self.upsert(batch, model: model, batchID: id, actor: actor, grace: grace, on: connection, logger: database.logger)
            try await connection.query("""
                INSERT INTO quarantined_rows (batch_id, model, row_number, column_name, reason, raw)
                SELECT \(id), \(model), r.line, r.col, r.reason, r.raw
                FROM unnest(\(rejected.map(\.line))::bigint[], \(rejected.map(\.column))::text[], \(rejected.map(\.reason))::text[], \(rejected.map(\.raw))::text[])
                  AS r(line, col, reason, raw)
                """, logger: database.logger)
            try await connection.query("""
                UPDATE ingest_batches SET rows_loaded = \(outcome.new + outcome.corrected), already_present = \(outcome.unchanged),
                    labels_unchanged = \(outcome.unchanged), labels_corrected = \(outcome.corrected), labels_unmatched = \(outcome.unmatched),
                    finished_at = \(Date())
                WHERE id = \(id)
                """, logger: database.logger)
            return (id, outcome)
        }
        try await InferenceIngest(database: database).refreshStatistics()
        return IngestReport(
            batchID: id, model: model, rowsRead: rowsRead, rowsLoaded: outcome.new + outcome.corrected, alreadyPresent: outcome.unchanged,
            quarantined: rejected.count, labels: outcome.new + outcome.corrected, labelOutcome: outcome,
            undeclaredColumns: [], quarantineSample: rejected.prefix(20).map { QuarantinedRow(line: $0.line, column: $0.column, reason: $0.reason) },
            seconds: Date().timeIntervalSince(started)
        )
    }

    /// Inserts new labels and applies corrections, inside the caller's transaction; within a
    /// batch the last label of a request wins. Then drops labels that waited longer than `grace`
    /// for their inference.
    static func upsert(
        _ batch: LabelBatch, model: String, batchID: Int, actor: String, grace: WorkflowDuration, on connection: PostgresConnection, logger: Logger
    ) async throws -> LabelOutcome {
        var outcome = LabelOutcome()
        var correctedSample: [String] = []
        let days = try await PartitionDays(of: "inference_requests", existingOn: connection, logger: logger).newestFirst
        for start in stride(from: 0, to: batch.labels.count, by: 50_000) {
            let end = min(start + 50_000, batch.labels.count)
            let unclaimed = try await unclaimed(Set(batch.requestIDs[start..<end]), model: model, days: days, on: connection, logger: logger)
            let rows = try await connection.query("""
                WITH input AS (
                    SELECT DISTINCT ON (r.request_id) r.request_id, r.label,
                           CASE WHEN r.known_seconds = 'NaN' THEN NULL ELSE to_timestamp(r.known_seconds) END AS known_at
                    FROM unnest(\(Array(batch.requestIDs[start..<end]))::text[], \(Array(batch.labels[start..<end]))::text[],
                                \(batch.knownAt[start..<end].map { $0?.timeIntervalSince1970 ?? .nan })::float8[]) WITH ORDINALITY AS r(request_id, label, known_seconds, n)
                    ORDER BY r.request_id, r.n DESC
                ), previous AS (
                    SELECT l.request_id, l.label FROM inference_labels l JOIN input i USING (request_id) WHERE l.model = \(model)
                ), written AS (
                    INSERT INTO inference_labels AS l (model, request_id, label, received_at, known_at)
                    SELECT \(model), request_id, label, now(), coalesce(known_at, now()) FROM input
                    ON CONFLICT (model, request_id) DO UPDATE SET label = excluded.label, received_at = excluded.received_at, known_at = excluded.known_at
                    WHERE l.label IS DISTINCT FROM excluded.label
                    RETURNING l.request_id, l.label
                ), corrected AS (
                    INSERT INTO label_corrections (model, request_id, previous_label, label, batch_id, corrected_at)
                    SELECT \(model), w.request_id, p.label, w.label, \(batchID), clock_timestamp()
                    FROM written w JOIN previous p USING (request_id)
                    RETURNING request_id
                ), unmatched AS (
                    INSERT INTO unmatched_labels (model, request_id, received_at)
                    SELECT \(model), i.request_id, clock_timestamp() FROM input i
                    WHERE i.request_id = ANY(\(unclaimed)::text[])
                    ON CONFLICT (model, request_id) DO UPDATE SET received_at = excluded.received_at
                    RETURNING request_id
                )
                SELECT (SELECT count(*) FROM input)::bigint, (SELECT count(*) FROM written)::bigint, (SELECT count(*) FROM corrected)::bigint,
                       (SELECT count(*) FROM unmatched)::bigint,
                       coalesce((SELECT array_agg(request_id ORDER BY request_id) FROM (SELECT request_id FROM unmatched ORDER BY request_id LIMIT 10) u), '{}'),
                       coalesce((SELECT array_agg(request_id ORDER BY request_id) FROM (SELECT request_id FROM corrected ORDER BY request_id LIMIT 10) c), '{}')
                """, logger: logger)
            for try await (input, written, corrected, unmatched, unmatchedSample, correctedIDs) in rows.decode((Int, Int, Int, Int, [String], [String]).self) {
                outcome.new += written - corrected
                outcome.corrected += corrected
                outcome.unchanged += input - written
                outcome.unmatched += unmatched
                if outcome.unmatchedSample.count < 10 { outcome.unmatchedSample += unmatchedSample.prefix(10 - outcome.unmatchedSample.count) }
                if correctedSample.count < 10 { correctedSample += correctedIDs.prefix(10 - correctedSample.count) }
            }
        }
        if outcome.corrected > 0 {
            try await AuditLog.append(
                actor: actor, action: "labels.corrected", subject: "model:\(model)", reason: nil,
                details: ["batch": .number(Double(batchID)), "corrected": .number(Double(outcome.corrected)), "first": .array(correctedSample.map(JSONValue.string))],
                at: Date(), on: connection, logger: logger
            )
        }
        outcome.expired = try await expire(model: model, grace: grace, on: connection, logger: logger)
        return outcome
    }

    /// Deletes the labels of `model` that waited longer than `grace` for their inference.
    static func expire(model: String, grace: WorkflowDuration, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await connection.query("""
            WITH expired AS (
                DELETE FROM unmatched_labels WHERE model = \(model) AND received_at < clock_timestamp() - make_interval(secs => \(grace.seconds))
                RETURNING request_id
            ), dropped AS (
                DELETE FROM inference_labels l USING expired e WHERE l.model = \(model) AND l.request_id = e.request_id RETURNING 1
            )
            SELECT count(*)::bigint FROM dropped
            """, logger: logger)
        return try await rows.decode(Int.self).first { _ in true } ?? 0
    }

    /// The request ids of `model` that no logged inference has claimed, of `requestIDs`.
    ///
    /// Claims are kept in one partition of `inference_requests` per day (`days`, newest first).
    /// They are looked up one day at a time, and the search stops when every request is found. Labels follow
    /// their inferences by hours to weeks, so only ids with no inference are looked up in every day.
    static func unclaimed(_ requestIDs: Set<String>, model: String, days: [Int], on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let keys = RequestKeys(model: model)
        var waiting = Dictionary(requestIDs.map { (keys.key(requestID: $0).uuid, $0) }) { first, _ in first }
        guard !waiting.isEmpty else { return [] }
        for day in days where !waiting.isEmpty {
            let found = try await connection.query("""
                SELECT DISTINCT key FROM inference_requests WHERE day = date '1970-01-01' + \(day)::int4 AND key = ANY(\(Array(waiting.keys))::uuid[])
                """, logger: logger)
            for try await key in found.decode(UUID.self) { waiting[key] = nil }
        }
        return waiting.values.sorted()
    }

    /// Labels of `model` stop waiting once inferences with their request ids are stored.
    static func matched(_ requestIDs: [String], model: String, on connection: PostgresConnection, logger: Logger) async throws {
        guard !requestIDs.isEmpty else { return }
        try await connection.query("""
            DELETE FROM unmatched_labels WHERE model = \(model) AND request_id = ANY(\(requestIDs)::text[])
            """, logger: logger)
    }
}

/// What a batch of labels did.
public struct LabelOutcome: Sendable, Codable, Equatable {
    /// Labels for requests that had none.
    public var new = 0
    /// Labels equal to the one stored: nothing changed.
    public var unchanged = 0
    /// Labels that replaced a different one (kept in `label_corrections`, audited).
    public var corrected = 0
    /// Labels for requests no inference has been logged for yet: kept for the grace period.
    public var unmatched = 0
    /// The first of those request ids, in order.
    public var unmatchedSample: [String] = []
    /// Labels dropped because their inference did not arrive within the grace period.
    public var expired = 0

    public init() {}
}
