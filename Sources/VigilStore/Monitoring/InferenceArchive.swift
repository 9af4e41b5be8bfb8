import Crypto
import Foundation
import Logging
import PostgresNIO

/// Where retention exports logged inferences before removing them: one Parquet file per model,
/// day and retention pass, under a directory the operator chose (`--retention-archive`).
///
/// A file is `<directory>/<model>/<YYYY-MM-DD>/<pass time>.parquet`. It holds every column of the
/// inference log (times as UTC microsecond timestamps, `features` and `probabilities` and
/// `embeddings` as JSON text) and the row's label with when it arrived. It is written under a
/// hidden name, synced and renamed into place before the rows are removed, in the transaction
/// that removes them; the pass's audit entry names each file with its row count and SHA-256. A
/// file the audit log does not name belongs to a pass that did not commit: its rows are still in
/// the database, and the next pass exports them again.
public struct InferenceArchive: Sendable {
    /// One file written.
    public struct File: Sendable, Equatable {
        /// Its path.
        public let path: String
        public let model: String
        /// The UTC day its rows were logged on, `YYYY-MM-DD`.
        public let day: String
        public let rows: Int64
        /// SHA-256 of the file, in hex.
        public let sha256: String
    }

    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// The columns written, each with the SQL that reads it from an inference-log row `l` and its label `y`.
    static let columns: [(sql: String, column: ParquetFileWriter.Column)] = [
        ("l.model", .init("model", .string)),
        ("l.model_version", .init("model_version", .string)),
        ("l.role", .init("role", .string)),
        ("l.request_id", .init("request_id", .string)),
        ("\(micros("l.ts"))", .init("ts", .timestampMicros)),
        ("l.features::text", .init("features", .json)),
        ("l.prediction", .init("prediction", .string, optional: true)),
        ("l.score", .init("score", .double, optional: true)),
        ("l.probabilities::text", .init("probabilities", .json, optional: true)),
        ("l.latency_ms", .init("latency_ms", .double, optional: true)),
        ("l.error", .init("error", .boolean)),
        ("l.batch_id", .init("batch_id", .int64, optional: true)),
        ("\(micros("l.ingested_at"))", .init("ingested_at", .timestampMicros)),
        ("to_json(l.embeddings)::text", .init("embeddings", .json, optional: true)),
        ("y.label", .init("label", .string, optional: true)),
        ("\(micros("y.received_at"))", .init("label_received_at", .timestampMicros, optional: true)),
    ]

    /// A timestamp as exact microseconds since the epoch (`extract` gives a numeric, not a float).
    private static func micros(_ column: String) -> String { "(extract(epoch FROM \(column)) * 1000000)::int8" }

    /// The select list for `l` (the rows) joined with their labels `y`.
    static var selectList: String { columns.map(\.sql).joined(separator: ", ") }

    /// The join that gives each row `l` its label `y`.
    static let labelJoin = "LEFT JOIN inference_labels y ON y.model = l.model AND y.request_id = l.request_id"

    /// Writes the rows `query` returns (``selectList``, one model's rows of one day) to a file, or
    /// nothing when it returns none.
    func export(_ query: PostgresQuery, model: String, day: Date, pass: Date, on connection: PostgresConnection, logger: Logger) async throws -> File? {
        let dayText = Self.dayFormat(day)
        let folder = directory.appendingPathComponent(Self.pathComponent(model)).appendingPathComponent(dayText)
        let name = Self.passFormat(pass) + ".parquet"
        let final = folder.appendingPathComponent(name), partial = folder.appendingPathComponent(".\(name).partial")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: partial.path, contents: nil) else {
                throw StoreError(.invalidConfiguration, "cannot create \(partial.path): check that the retention archive directory is writable")
            }
            let handle = try FileHandle(forWritingTo: partial)
            defer { try? handle.close() }
            var writer = try ParquetFileWriter(
                columns: Self.columns.map(\.column), handle: handle,
                metadata: [("vigil.model", model), ("vigil.day", dayText), ("vigil.exported_at", ISO8601DateFormatter().string(from: pass))]
            )
            for try await row in try await connection.query(query, logger: logger) {
                var index = 0
                for cell in row {
                    try Self.append(cell.bytes, kind: writer.columns[index].kind, to: index, of: &writer)
                    index += 1
                }
                try writer.endRow()
            }
            guard writer.rowCount > 0 else {
                try? FileManager.default.removeItem(at: partial)
                return nil
            }
            try writer.finish()
            try handle.synchronize()
            try Self.replace(final, with: partial, in: folder)
            return File(path: final.path, model: model, day: dayText, rows: writer.rowCount, sha256: try Self.sha256(of: final))
        } catch let error as StoreError {
            try? FileManager.default.removeItem(at: partial)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw StoreError(.query, "could not archive model \(model)'s inferences of \(dayText) to \(final.path) before removing them: \(fileErrorReason(error))", underlying: error)
        }
    }

    /// One cell in PostgreSQL's binary format, appended as its column's kind.
    private static func append(_ bytes: ByteBuffer?, kind: ParquetFileWriter.Kind, to index: Int, of writer: inout ParquetFileWriter) throws {
        switch kind {
        case .string, .json:
            if let bytes {
                try bytes.withUnsafeReadableBytes { try writer.append(text: $0, to: index) }
            } else {
                try writer.append(text: nil, to: index)
            }
        case .int64, .timestampMicros:
            try writer.append(integer: try bytes.map { try fixed($0, as: Int64.self) }, to: index)
        case .double:
            try writer.append(double: try bytes.map { Double(bitPattern: try fixed($0, as: UInt64.self)) }, to: index)
        case .boolean:
            try writer.append(boolean: try bytes.map { try fixed($0, as: UInt8.self) != 0 }, to: index)
        }
    }

    private static func fixed<T: FixedWidthInteger>(_ buffer: ByteBuffer, as: T.Type) throws -> T {
        guard buffer.readableBytes == MemoryLayout<T>.size, let value = buffer.getInteger(at: buffer.readerIndex, as: T.self) else {
            throw StoreError(.query, "an archived cell is \(buffer.readableBytes) bytes, expected \(MemoryLayout<T>.size)")
        }
        return value
    }

    /// Moves `partial` over `final` in one step and makes the rename durable.
    private static func replace(_ final: URL, with partial: URL, in folder: URL) throws {
        guard rename(partial.path, final.path) == 0 else {
            throw StoreError(.query, "could not rename \(partial.path) to \(final.path): \(String(cString: strerror(errno)))")
        }
        let descriptor = open(folder.path, O_RDONLY)
        if descriptor >= 0 {
            _ = fsync(descriptor)
            close(descriptor)
        }
    }

    private static func sha256(of file: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// A model name as one safe path component: letters, digits, `.`, `_` and `-` kept (a
    /// leading `.` escaped), everything else as `%XX`.
    static func pathComponent(_ model: String) -> String {
        var result = ""
        for (offset, byte) in model.utf8.enumerated() {
            let safe = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || (byte == UInt8(ascii: ".") && offset > 0)
            result += safe ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }
        return result
    }

    private static func dayFormat(_ day: Date) -> String {
        String(utc([.withFullDate]).string(from: day))
    }

    private static func passFormat(_ pass: Date) -> String {
        utc([.withYear, .withMonth, .withDay, .withTime, .withTimeZone]).string(from: pass)
    }

    private static func utc(_ options: ISO8601DateFormatter.Options) -> ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = options
        return formatter
    }
}
