import Crypto
import Foundation
import VigilStatistics
import VigilWorkflow

/// The labelled rows of a training window written to a CSV file for a training program, with a
/// manifest that says what the file holds: a trainer reads files Vigil handed it, not Vigil's tables.
///
/// The file's columns are `request_id`, `ts`, `model_version`, `role`, `prediction`, `score`,
/// `label`, then one per feature (the monitoring workflow's declared features, else every key
/// the rows' features have, sorted). Rows are served ones (champion and canary) in time order, so
/// the same window gives the same bytes and the same SHA-256.
public struct TrainingDataExport: Sendable {
    /// What was written.
    public struct Written: Sendable, Equatable {
        public let file: URL
        public let manifest: URL
        public let rows: Int
        /// Hex SHA-256 of the CSV file's bytes.
        public let sha256: String
        public let columns: [String]
        /// What `manifest.json` holds.
        public let contents: JSONValue
    }

    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let fixedColumns = ["request_id", "ts", "model_version", "role", "prediction", "score", "label"]

    /// Writes `[from, to)`'s labelled rows of `model` into `folder` (`training.csv` and
    /// `manifest.json`), with `features` as the feature columns when given; `parentVersion` is the
    /// champion the new version descends from, for the manifest.
    public func write(
        model: String, from: Date, to: Date, features declared: [ColumnSchema]?, parentVersion: Int?, into folder: URL
    ) async throws -> Written {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let features = try await featureNames(model: model, from: from, to: to, declared: declared)
        let file = folder.appendingPathComponent("training.csv")
        FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        var hasher = SHA256()
        var buffer: [UInt8] = []
        func emit(_ cells: [String?]) throws {
            buffer += Array(CSVText.record(cells).utf8)
            buffer.append(UInt8(ascii: "\n"))
            if buffer.count >= 1 << 20 { try flush() }
        }
        func flush() throws {
            hasher.update(data: buffer)
            try handle.write(contentsOf: buffer)
            buffer.removeAll(keepingCapacity: true)
        }
        let columns = Self.fixedColumns + features
        // One formatter for the file: making one per row costs more than writing the row.
        let formatter = ISO8601DateFormatter.precise
        try emit(columns)
        let rows = try await database.client.query("""
            SELECT request_id, ts, model_version, role, prediction, score::text, label, features::text FROM vigil.labelled_inferences
            WHERE model = \(model) AND ts >= \(from) AND ts < \(to) AND role IN ('champion', 'canary')
            ORDER BY ts, request_id
            """, logger: database.logger)
        var count = 0
        for try await (request, ts, version, role, prediction, score, label, json) in rows.decode((String, Date, String, String, String?, String?, String, String).self) {
            let values = (try? JSONText.decode([String: JSONValue].self, from: json)) ?? [:]
            try emit([request, formatter.string(from: ts), version, role, prediction, score, label] + features.map { values[$0].flatMap(CSVText.cell) })
            count += 1
        }
        try flush()
        let sha256 = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        let manifest: JSONValue = .object([
            "model": .string(model), "rows": .number(Double(count)), "data_sha256": .string(sha256),
            "window": .object(["start": .string(formatter.string(from: from)), "end": .string(formatter.string(from: to))]),
            "parent_version": parentVersion.map { .number(Double($0)) } ?? .null,
            "files": .array([.object(["path": .string(file.lastPathComponent), "format": .string("csv"), "rows": .number(Double(count)), "sha256": .string(sha256)])]),
            "schema": .array(columns.map { name in .object(["name": .string(name), "type": .string(Self.type(of: name, declared: declared))]) }),
            "label_column": .string("label"), "prediction_column": .string("prediction"), "features": .array(features.map(JSONValue.string)),
        ])
        let manifestFile = folder.appendingPathComponent("manifest.json")
        try JSONEncoder.sorted.encode(manifest).write(to: manifestFile)
        return Written(file: file, manifest: manifestFile, rows: count, sha256: sha256, columns: columns, contents: manifest)
    }

    /// The declared features, or every key the window's labelled rows carry.
    private func featureNames(model: String, from: Date, to: Date, declared: [ColumnSchema]?) async throws -> [String] {
        if let declared, !declared.isEmpty { return declared.map(\.name).filter { !Self.fixedColumns.contains($0) } }
        let rows = try await database.client.query("""
            SELECT DISTINCT json_object_keys(features) FROM vigil.labelled_inferences
            WHERE model = \(model) AND ts >= \(from) AND ts < \(to) AND role IN ('champion', 'canary') AND json_typeof(features) = 'object'
            """, logger: database.logger)
        var names: [String] = []
        for try await name in rows.decode(String.self) where !Self.fixedColumns.contains(name) { names.append(name) }
        return names.sorted()
    }

    private static func type(of column: String, declared: [ColumnSchema]?) -> String {
        switch column {
        case "ts": return "timestamp"
        case "score": return "number"
        case "request_id", "model_version", "role", "prediction", "label": return "string"
        default: return declared?.first { $0.name == column }.map { $0.isNumeric ? "number" : "string" } ?? "any"
        }
    }
}
