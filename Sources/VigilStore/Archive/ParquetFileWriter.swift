import Foundation

/// Writes a flat table to an Apache Parquet file, row group by row group, so a table of any
/// length is written in bounded memory.
///
/// Every column is written with the PLAIN encoding, one data page (version 1) per column per row
/// group, definition levels for optional columns as RLE runs, and each page compressed with
/// Snappy (Parquet's usual codec; see ``SnappyCompressor``) unless asked otherwise. Every Parquet
/// reader accepts that form (pyarrow, DuckDB, Spark, pandas).
public struct ParquetFileWriter {
    /// How pages are compressed.
    public enum Compression: String, Sendable, CaseIterable {
        case none
        case snappy

        /// Parquet's codec number.
        fileprivate var codec: Int32 { self == .snappy ? 1 : 0 }
    }

    /// A column's type as stored and as readers should take it.
    public enum Kind: Sendable {
        /// UTF-8 text (BYTE_ARRAY, STRING).
        case string
        /// JSON text (BYTE_ARRAY, JSON).
        case json
        /// A 64-bit integer (INT64).
        case int64
        /// Microseconds since 1970-01-01 UTC (INT64, TIMESTAMP adjusted to UTC).
        case timestampMicros
        /// A 64-bit float (DOUBLE).
        case double
        /// A boolean (BOOLEAN).
        case boolean

        /// How values of this kind are appended.
        fileprivate var storage: Storage {
            switch self {
            case .string, .json: .text
            case .int64, .timestampMicros: .integer
            case .double: .double
            case .boolean: .boolean
            }
        }
    }

    fileprivate enum Storage: String {
        case text, integer, double, boolean
    }

    /// One column of the file.
    public struct Column: Sendable {
        public let name: String
        public let kind: Kind
        /// Whether a row may have no value (null).
        public let optional: Bool

        public init(_ name: String, _ kind: Kind, optional: Bool = false) {
            self.name = name
            self.kind = kind
            self.optional = optional
        }
    }

    /// A value that does not fit its column.
    public struct ValueError: Error, CustomStringConvertible {
        public let description: String
    }

    private struct ChunkRecord {
        let kind: Kind
        let name: String
        let optional: Bool
        let values: Int
        /// The chunk's bytes, page headers included, as written and before compression.
        let size: Int64
        let uncompressedSize: Int64
        let offset: Int64
    }

    private struct RowGroupRecord {
        let chunks: [ChunkRecord]
        let rows: Int64
    }

    /// One column's values of the row group being filled.
    private struct Chunk {
        var plain: [UInt8] = []
        var booleans: [Bool] = []
        /// Per row, whether it has a value (optional columns only).
        var present: [Bool] = []
    }

    public let columns: [Column]
    public let rowGroupRows: Int
    public let compression: Compression
    private let handle: FileHandle
    private let metadata: [(String, String)]
    private var chunks: [Chunk]
    private var rowsInGroup = 0
    private var rowGroups: [RowGroupRecord] = []
    private var offset: Int64 = 0
    public private(set) var rowCount: Int64 = 0

    /// Starts a file on `handle` (empty, at its start). `metadata` becomes the file's key-value metadata.
    public init(
        columns: [Column], handle: FileHandle, metadata: [(String, String)] = [], rowGroupRows: Int = 65_536, compression: Compression = .snappy
    ) throws {
        self.columns = columns
        self.compression = compression
        self.handle = handle
        self.metadata = metadata
        self.rowGroupRows = max(1, rowGroupRows)
        chunks = columns.map { _ in Chunk() }
        try write(Array("PAR1".utf8))
    }

    /// Appends text (a string or JSON column's value) to column `index` of the current row.
    public mutating func append(text bytes: UnsafeRawBufferPointer?, to index: Int) throws {
        try present(bytes != nil, in: index, as: .text)
        guard let bytes else { return }
        guard let length = UInt32(exactly: bytes.count) else {
            throw ValueError(description: "a value of column \(columns[index].name) is \(bytes.count) bytes, more than Parquet holds")
        }
        Self.littleEndian(length, into: &chunks[index].plain)
        chunks[index].plain.append(contentsOf: bytes)
    }

    /// Appends an integer (an int64 or timestamp column's value) to column `index` of the current row.
    public mutating func append(integer value: Int64?, to index: Int) throws {
        try present(value != nil, in: index, as: .integer)
        if let value { Self.littleEndian(UInt64(bitPattern: value), into: &chunks[index].plain) }
    }

    /// Appends a double to column `index` of the current row.
    public mutating func append(double value: Double?, to index: Int) throws {
        try present(value != nil, in: index, as: .double)
        if let value { Self.littleEndian(value.bitPattern, into: &chunks[index].plain) }
    }

    /// Appends a boolean to column `index` of the current row.
    public mutating func append(boolean value: Bool?, to index: Int) throws {
        try present(value != nil, in: index, as: .boolean)
        if let value { chunks[index].booleans.append(value) }
    }

    /// Ends the current row (every column must have had its value appended).
    public mutating func endRow() throws {
        rowsInGroup += 1
        rowCount += 1
        if rowsInGroup == rowGroupRows { try flushRowGroup() }
    }

    /// Writes the last row group and the footer. The handle is left open for the caller to sync and close.
    public mutating func finish() throws {
        if rowsInGroup > 0 || rowGroups.isEmpty { try flushRowGroup() }
        var footer = ThriftCompactWriter()
        footer.i32(1, 1)
        let root = Column("schema", .int64)
        footer.structList(2, [nil] + columns.map(Optional.some)) { writer, column in
            guard let column else {
                writer.string(4, root.name)
                writer.i32(5, Int32(columns.count))
                return
            }
            Self.schemaElement(column, into: &writer)
        }
        footer.i64(3, rowCount)
        footer.structList(4, rowGroups) { writer, group in
            writer.structList(1, group.chunks) { writer, chunk in
                writer.i64(2, chunk.offset)
                writer.structure(3) { meta in
                    meta.i32(1, Self.physicalType(chunk.kind))
                    meta.i32List(2, chunk.optional ? [0, 3] : [0])
                    meta.stringList(3, [chunk.name])
                    meta.i32(4, compression.codec)
                    meta.i64(5, Int64(chunk.values))
                    meta.i64(6, chunk.uncompressedSize)
                    meta.i64(7, chunk.size)
                    meta.i64(9, chunk.offset)
                }
            }
            writer.i64(2, group.chunks.reduce(0) { $0 + $1.uncompressedSize })
            writer.i64(3, group.rows)
        }
        if !metadata.isEmpty {
            footer.structList(5, metadata) { writer, entry in
                writer.string(1, entry.0)
                writer.string(2, entry.1)
            }
        }
        footer.string(6, "vigil")
        footer.stop()
        var tail = footer.bytes
        Self.littleEndian(UInt32(tail.count), into: &tail)
        tail += Array("PAR1".utf8)
        try write(tail)
    }

    private mutating func present(_ isPresent: Bool, in index: Int, as storage: Storage) throws {
        let column = columns[index]
        guard column.kind.storage == storage else {
            throw ValueError(description: "column \(column.name) holds \(column.kind) values, not \(storage.rawValue)")
        }
        guard isPresent || column.optional else {
            throw ValueError(description: "column \(column.name) is required, but row \(rowCount + 1) has no value for it")
        }
        if column.optional { chunks[index].present.append(isPresent) }
    }

    private mutating func flushRowGroup() throws {
        var records: [ChunkRecord] = []
        for (index, column) in columns.enumerated() {
            var body: [UInt8] = []
            if column.optional {
                let levels = Self.runLengthLevels(chunks[index].present)
                Self.littleEndian(UInt32(levels.count), into: &body)
                body += levels
            }
            if column.kind == .boolean {
                body += Self.bitPacked(chunks[index].booleans)
            } else {
                body += chunks[index].plain
            }
            let stored = compression == .snappy ? SnappyCompressor.compress(body) : body
            guard let bodySize = Int32(exactly: body.count), let storedSize = Int32(exactly: stored.count) else {
                throw ValueError(description: "column \(column.name) holds more than 2 GiB in one row group; use smaller row groups")
            }
            var header = ThriftCompactWriter()
            header.i32(1, 0)
            header.i32(2, bodySize)
            header.i32(3, storedSize)
            header.structure(5) { page in
                page.i32(1, Int32(rowsInGroup))
                page.i32(2, 0)
                page.i32(3, 3)
                page.i32(4, 3)
            }
            header.stop()
            let start = offset
            try write(header.bytes)
            try write(stored)
            records.append(ChunkRecord(
                kind: column.kind, name: column.name, optional: column.optional, values: rowsInGroup, size: offset - start,
                uncompressedSize: Int64(header.bytes.count + body.count), offset: start
            ))
            chunks[index] = Chunk()
        }
        rowGroups.append(RowGroupRecord(chunks: records, rows: Int64(rowsInGroup)))
        rowsInGroup = 0
    }

    private mutating func write(_ bytes: [UInt8]) throws {
        try handle.write(contentsOf: bytes)
        offset += Int64(bytes.count)
    }

    private static func schemaElement(_ column: Column, into writer: inout ThriftCompactWriter) {
        writer.i32(1, physicalType(column.kind))
        writer.i32(3, column.optional ? 1 : 0)
        writer.string(4, column.name)
        switch column.kind {
        case .string:
            writer.i32(6, 0)  // UTF8
            writer.structure(10) { $0.structure(1) { _ in } }  // STRING
        case .json:
            writer.i32(6, 19)  // JSON
            writer.structure(10) { $0.structure(12) { _ in } }  // JSON
        case .timestampMicros:
            writer.i32(6, 10)  // TIMESTAMP_MICROS
            writer.structure(10) { logical in
                logical.structure(8) { timestamp in  // TIMESTAMP
                    timestamp.bool(1, true)  // adjusted to UTC
                    timestamp.structure(2) { $0.structure(2) { _ in } }  // MICROS
                }
            }
        case .int64, .double, .boolean:
            break
        }
    }

    /// Parquet's physical type code.
    private static func physicalType(_ kind: Kind) -> Int32 {
        switch kind {
        case .boolean: 0
        case .int64, .timestampMicros: 2
        case .double: 5
        case .string, .json: 6
        }
    }

    /// Definition levels (1 present, 0 null; bit width 1) as runs of the RLE/bit-packing hybrid.
    private static func runLengthLevels(_ present: [Bool]) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = 0
        while index < present.count {
            var end = index + 1
            while end < present.count && present[end] == present[index] { end += 1 }
            var header = UInt64(end - index) << 1
            while header >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: header) | 0x80)
                header >>= 7
            }
            bytes.append(UInt8(header))
            bytes.append(present[index] ? 1 : 0)
            index = end
        }
        return bytes
    }

    /// Booleans one bit each, the first in the lowest bit.
    private static func bitPacked(_ values: [Bool]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: (values.count + 7) / 8)
        for (index, value) in values.enumerated() where value { bytes[index / 8] |= 1 << (index % 8) }
        return bytes
    }

    private static func littleEndian<T: FixedWidthInteger>(_ value: T, into bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
