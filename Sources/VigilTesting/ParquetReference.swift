import Foundation

/// Parquet files as pyarrow (the reference reader) reads them, through `read_parquet.py` in the
/// Python venv `scripts/test` makes (`.build/python-client`, or `VIGIL_CLIENT_PYTHON`).
public enum ParquetReference {
    /// One file as read.
    public struct File: Decodable, Sendable {
        public let rows: Int
        public let rowGroups: Int
        /// Each column's Arrow type, as pyarrow prints it (`timestamp[us, tz=UTC]`).
        public let types: [String: String]
        public let metadata: [String: String]
        public let sha256: String
        /// The codecs its column chunks were compressed with, as pyarrow names them (`SNAPPY`, `UNCOMPRESSED`).
        public let codecs: [String]
        /// The rows, timestamps as integer microseconds since the epoch.
        public let records: [[String: ReferenceValue]]

        enum CodingKeys: String, CodingKey {
            case rows, rowGroups = "row_groups", types, metadata, sha256, codecs, records
        }
    }

    /// A cell as JSON carried it.
    public enum ReferenceValue: Decodable, Sendable, Equatable {
        case null
        case bool(Bool)
        case number(Double)
        case text(String)

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let value = try? container.decode(Bool.self) { self = .bool(value) }
            else if let value = try? container.decode(Double.self) { self = .number(value) }
            else { self = .text(try container.decode(String.self)) }
        }

        public var text: String? { if case let .text(value) = self { value } else { nil } }
        public var number: Double? { if case let .number(value) = self { value } else { nil } }
    }

    public struct ReaderFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads `paths` with pyarrow, by path.
    public static func read(_ paths: [String]) async throws -> [String: File] {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let python = ProcessInfo.processInfo.environment["VIGIL_CLIENT_PYTHON"]
            ?? here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/python-client/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw ReaderFailed(description: "no Python with pyarrow at \(python): `bash scripts/test` installs it (or set VIGIL_CLIENT_PYTHON)")
        }
        let (status, output) = try await runCollectingOutput(python, [here.appendingPathComponent("read_parquet.py").path] + paths)
        guard status == 0, let last = output.split(separator: "\n").last else {
            throw ReaderFailed(description: "pyarrow could not read \(paths) (exit \(status)): \(output)")
        }
        return try JSONDecoder().decode([String: File].self, from: Data(last.utf8))
    }
}
