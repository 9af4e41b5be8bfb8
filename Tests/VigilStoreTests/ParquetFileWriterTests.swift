import Foundation
import Testing
import VigilStatistics
import VigilStore
import VigilTesting

/// Files written by ``ParquetFileWriter`` read back by pyarrow, the reference reader.
@Suite("Parquet files as pyarrow reads them")
struct ParquetFileWriterTests {
    static let columns: [ParquetFileWriter.Column] = [
        .init("id", .int64),
        .init("name", .string, optional: true),
        .init("doc", .json, optional: true),
        .init("at", .timestampMicros),
        .init("value", .double, optional: true),
        .init("flag", .boolean, optional: true),
        .init("count", .int64, optional: true),
    ]

    struct Row {
        var name: String?
        var doc: String?
        var at: Int64
        var value: Double?
        var flag: Bool?
        var count: Int64?
    }

    static let rows: [Row] = (0..<8).map { index -> Row in
        let names: [String] = ["churn", "", "naïve \"quoted\" ✓", "x"]
        let value: Double = -1.5e-7 * Double(index) + 0.1
        return Row(
            name: index == 2 ? nil : names[index % 4],
            doc: index.isMultiple(of: 3) ? nil : "{\"a\": \(index)}",
            at: 1_780_272_000_123_456 + Int64(index) * 1_000_001,
            value: index == 5 ? nil : value,
            flag: index == 4 ? nil : index.isMultiple(of: 2),
            count: index < 3 ? nil : Int64(index) * -1_000_000_007
        )
    }

    static func write(_ rows: [Row], to url: URL, rowGroupRows: Int, compression: ParquetFileWriter.Compression = .snappy) throws {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var writer = try ParquetFileWriter(
            columns: columns, handle: handle, metadata: [("origin", "test")], rowGroupRows: rowGroupRows, compression: compression
        )
        for (index, row) in rows.enumerated() {
            try writer.append(integer: Int64(index), to: 0)
            try Array((row.name ?? "").utf8).withUnsafeBytes { try writer.append(text: row.name == nil ? nil : $0, to: 1) }
            try Array((row.doc ?? "").utf8).withUnsafeBytes { try writer.append(text: row.doc == nil ? nil : $0, to: 2) }
            try writer.append(integer: row.at, to: 3)
            try writer.append(double: row.value, to: 4)
            try writer.append(boolean: row.flag, to: 5)
            try writer.append(integer: row.count, to: 6)
            try writer.endRow()
        }
        try writer.finish()
    }

    @Test("every kind of column, nulls in each optional one, and row groups of 3, Snappy-compressed or not: pyarrow reads the values, types and metadata back exactly", arguments: ParquetFileWriter.Compression.allCases)
    func roundTrip(compression: ParquetFileWriter.Compression) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("t.parquet"), empty = folder.appendingPathComponent("empty.parquet")
        try Self.write(Self.rows, to: file, rowGroupRows: 3, compression: compression)
        try Self.write([], to: empty, rowGroupRows: 3, compression: compression)
        let read = try await ParquetReference.read([file.path, empty.path])
        let table = try #require(read[file.path])
        #expect(table.rows == 8 && table.rowGroups == 3)
        #expect(table.codecs == [compression == .snappy ? "SNAPPY" : "UNCOMPRESSED"])
        // pyarrow reads the JSON logical type as its JSON extension type.
        #expect(table.types == [
            "id": "int64", "name": "string", "doc": "extension<arrow.json>", "at": "timestamp[us, tz=UTC]", "value": "double", "flag": "bool", "count": "int64",
        ], "\(table.types)")
        #expect(table.metadata["origin"] == "test")
        for (index, row) in Self.rows.enumerated() {
            let record = table.records[index]
            #expect(record["id"] == .number(Double(index)))
            #expect(record["name"] == (row.name.map { .text($0) } ?? .null), "row \(index)")
            #expect(record["doc"] == (row.doc.map { .text($0) } ?? .null), "row \(index)")
            #expect(record["at"] == .number(Double(row.at)), "row \(index)")
            #expect(record["value"] == (row.value.map { .number($0) } ?? .null), "row \(index)")
            #expect(record["flag"] == (row.flag.map { .bool($0) } ?? .null), "row \(index)")
            #expect(record["count"] == (row.count.map { .number(Double($0)) } ?? .null), "row \(index)")
        }
        #expect(read[empty.path]?.rows == 0)
    }

    @Test("Snappy over what an archive holds: repeated names, long runs, values longer than a 64 KiB block and random bytes, across row groups; pyarrow reads every value back, and the repetitive file is much smaller than uncompressed")
    func snappyAtSize() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: 5)
        let rows = (0..<20_000).map { index -> Row in
            let noise = (0..<(index % 40)).map { _ in Character(UnicodeScalar(UInt8(65 + generator.next() % 26))) }
            let long = index % 5_000 == 7 ? String(repeating: "abcdefgh", count: 20_000) + String(noise) : nil
            return Row(
                name: long ?? (index.isMultiple(of: 11) ? nil : "model-\(index % 3)"), doc: "{\"features\": {\"a\": \(index % 17), \"b\": \"\(String(noise))\"}}",
                at: 1_780_272_000_000_000 + Int64(index) * 1_000, value: Double(generator.next() >> 11) * 0x1p-53,
                flag: index.isMultiple(of: 7) ? nil : index.isMultiple(of: 2), count: index.isMultiple(of: 3) ? 42 : Int64(bitPattern: generator.next())
            )
        }
        let compressed = folder.appendingPathComponent("snappy.parquet"), plain = folder.appendingPathComponent("plain.parquet")
        try Self.write(rows, to: compressed, rowGroupRows: 8_192)
        try Self.write(rows, to: plain, rowGroupRows: 8_192, compression: .none)
        let read = try await ParquetReference.read([compressed.path])
        let table = try #require(read[compressed.path])
        #expect(table.rows == rows.count && table.rowGroups == 3 && table.codecs == ["SNAPPY"])
        for (index, row) in rows.enumerated() {
            let record = table.records[index]
            guard record["name"] == (row.name.map { .text($0) } ?? .null), record["doc"] == (row.doc.map { .text($0) } ?? .null),
                  record["value"] == (row.value.map { .number($0) } ?? .null), record["flag"] == (row.flag.map { .bool($0) } ?? .null),
                  record["count"] == (row.count.map { .number(Double($0)) } ?? .null)
            else {
                Issue.record("row \(index) reads back as \(record)")
                return
            }
        }
        let sizes = try [compressed, plain].map { try #require(try FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int) }
        #expect(sizes[0] * 2 < sizes[1], "\(sizes)")
    }

    @Test("a missing value in a required column and a value of the wrong kind are refused with the column's name")
    func refusals() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-\(UUID().uuidString).parquet")
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: url) }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var writer = try ParquetFileWriter(columns: Self.columns, handle: handle)
        #expect(throws: ParquetFileWriter.ValueError.self) { try writer.append(integer: nil, to: 0) }
        let wrong = #expect(throws: ParquetFileWriter.ValueError.self) { try writer.append(double: 1, to: 0) }
        #expect(wrong?.description.contains("column id") == true)
    }
}
