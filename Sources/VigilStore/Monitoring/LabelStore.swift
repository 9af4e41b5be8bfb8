import Foundation
import Logging
import PostgresNIO
import VigilWorkflow

/// Ground truth that arrives after the prediction: `inference_labels`, one label per
/// (model, request id). A label for a request already labelled replaces it (a correction) and
/// moves `received_at`, so the monitor recomputes that prediction's window.
public struct LabelStore: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Loads a label file: `request_id` and `label` columns, one row per request.
    ///
    /// A row without a request id or label is quarantined with its line; a malformed file loads nothing.
    public func load(_ reader: DataRecordReader, model: String, actor: String) async throws -> IngestReport {
        let started = Date()
        var batch = LabelBatch()
        var rejected: [(line: Int, column: String, reason: String, raw: String)] = []
        var rowsRead = 0
        var requestColumn = -1, labelColumn = -1
        while let record = try reader.next() {
            if requestColumn < 0 || labelColumn < 0 {
                requestColumn = reader.columnNames.firstIndex(of: "request_id") ?? -1
                labelColumn = reader.columnNames.firstIndex(of: "label") ?? -1
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
            batch.append(requestID: requestID, label: label)
        }
        let (id, written) = try await database.transaction { connection in
            let written = try await Self.upsert(batch, model: model, on: connection, logger: database.logger)
            let id = try await connection.query("""
                INSERT INTO ingest_batches (model, kind, source, actor, rows_read, rows_loaded, quarantined, started_at, finished_at)
                VALUES (\(model), 'labels', \(reader.file), \(actor), \(rowsRead), \(batch.labels.count), \(rejected.count), \(started), \(Date()))
                RETURNING id
                """, logger: database.logger).decode(Int.self).first { _ in true }!
            try await connection.query("""
                INSERT INTO quarantined_rows (batch_id, model, row_number, column_name, reason, raw)
                SELECT \(id), \(model), r.line, r.col, r.reason, r.raw
                FROM unnest(\(rejected.map(\.line))::bigint[], \(rejected.map(\.column))::text[], \(rejected.map(\.reason))::text[], \(rejected.map(\.raw))::text[])
                  AS r(line, col, reason, raw)
                """, logger: database.logger)
            return (id, written)
        }
        return IngestReport(
            batchID: id, model: model, rowsRead: rowsRead, rowsLoaded: batch.labels.count, quarantined: rejected.count, labels: written,
            undeclaredColumns: [], quarantineSample: rejected.prefix(20).map { QuarantinedRow(line: $0.line, column: $0.column, reason: $0.reason) },
            seconds: Date().timeIntervalSince(started)
        )
    }

    /// Inserts or corrects labels; returns how many rows changed (an identical label is left alone).
    static func upsert(_ batch: LabelBatch, model: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        var changed = 0
        for start in stride(from: 0, to: batch.labels.count, by: 50_000) {
            let end = min(start + 50_000, batch.labels.count)
            let rows = try await connection.query("""
                INSERT INTO inference_labels AS l (model, request_id, label, received_at)
                SELECT \(model), r.request_id, r.label, clock_timestamp()
                FROM unnest(\(Array(batch.requestIDs[start..<end]))::text[], \(Array(batch.labels[start..<end]))::text[]) AS r(request_id, label)
                ON CONFLICT (model, request_id) DO UPDATE SET label = excluded.label, received_at = excluded.received_at
                WHERE l.label IS DISTINCT FROM excluded.label
                RETURNING 1
                """, logger: logger)
            for try await _ in rows.decode(Int.self) { changed += 1 }
        }
        return changed
    }
}
