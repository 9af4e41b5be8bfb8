import Foundation
import VigilStatistics

/// Reads the records of a CSV or JSON-lines file one at a time, for loaders that judge each
/// row on its own (quarantining a bad row instead of failing the file).
///
/// Columns are numbered in order of first appearance: a CSV file's header, or the keys of JSON
/// objects as they are first seen (a nested `features` object contributes its keys too).
/// Malformed input — an unclosed quote, a wrong field count, a line that is not a JSON object —
/// stops the read with a ``DataFileError`` naming the line.
public final class DataRecordReader {
    public let file: String
    public let format: DataFileReader.Format
    /// The columns seen so far, by index.
    public private(set) var columnNames: [String] = []
    private var columnIndex: [String: Int] = [:]
    /// The file's bytes and a 0 byte after them, which the CSV parser needs: one copy of the
    /// file, shared by the CSV parser and a restarted reader.
    private let bytes: [UInt8]
    /// The file's own bytes: all but the terminating 0.
    private var contentCount: Int { bytes.count - 1 }

    public convenience init(path: String, format: DataFileReader.Format? = nil) throws(DataFileError) {
        guard let format = format ?? DataFileReader.Format(path: path) else {
            throw DataFileError(file: path, line: nil, "unknown data format; use a .csv or .jsonl file")
        }
        let content: Data
        do {
            content = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw DataFileError(file: path, line: nil, "cannot read the file: \((error as NSError).localizedDescription)")
        }
        try self.init(content: CSVReader.terminated(content), file: path, format: format)
    }

    /// A reader of data already in memory (an API request's body); `file` names it in errors.
    public convenience init(content: UnsafeRawBufferPointer, file: String, format: DataFileReader.Format) throws(DataFileError) {
        try self.init(content: CSVReader.terminated(content), file: file, format: format)
    }

    /// `bytes`: the content and a 0 byte after it.
    private init(content bytes: [UInt8], file: String, format: DataFileReader.Format) throws(DataFileError) {
        var bytes = bytes
        // A byte-order mark is not part of the first column's name.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        // Text holds no NUL: one means a binary or corrupted file, and PostgreSQL could not store it.
        if let nul = bytes.dropLast().firstIndex(of: 0) {
            let line = bytes[..<nul].reduce(into: 1) { count, byte in if byte == UInt8(ascii: "\n") { count += 1 } }
            throw DataFileError(file: file, line: line, "the line holds a NUL byte; data files must be text (CSV or JSON lines)")
        }
        self.bytes = bytes
        self.file = file
        self.format = format
    }

    private init(file: String, format: DataFileReader.Format, bytes: [UInt8]) {
        self.file = file
        self.format = format
        self.bytes = bytes
    }

    /// A reader of the same file from its first record, sharing this one's bytes.
    public func restarted() -> DataRecordReader {
        DataRecordReader(file: file, format: format, bytes: bytes)
    }

    /// The file's size in bytes.
    public var byteCount: Int { contentCount }

    /// How far into the file the read has got, in bytes.
    public var bytesConsumed: Int { format == .csv ? csvCursor.position : jsonPosition }

    /// The next record in file order, or `nil` at the end of the file.
    ///
    /// - Throws: ``DataFileError`` naming the line of malformed input.
    public func next() throws(DataFileError) -> DataRecord? {
        switch format {
        case .csv: try nextCSV()
        case .jsonLines: try nextJSONLine()
        }
    }

    private lazy var csv = CSVReader(file: file, terminatedBytes: bytes)
    private var csvCursor = CSVReader.Cursor()
    private var fields: [CSVReader.Field] = []
    private var jsonPosition = 0
    /// The last JSON line's keys, in the order they came. Lines mostly repeat the keys of the one
    /// before, in the same order: comparing them is cheaper than hashing each and sorting them.
    private var lastJSONKeys: [String] = []
    /// Where each of those lines' values goes, in ``JSONLineParser/Line/order``.
    private var lastJSONWrites: [(position: Int, column: Int)] = []
    private var jsonLine = 0

    private func nextCSV() throws(DataFileError) -> DataRecord? {
        let reader = csv
        if columnNames.isEmpty {
            guard let line = try reader.next(&csvCursor, fields: &fields) else {
                throw DataFileError(file: file, line: nil, "the file is empty; a header row is needed")
            }
            for name in try reader.header(fields, line: line) {
                columnIndex[name] = columnNames.count
                columnNames.append(name)
            }
        }
        guard let line = try reader.next(&csvCursor, fields: &fields) else { return nil }
        guard fields.count == columnNames.count else {
            throw DataFileError(file: file, line: line, "expected \(columnNames.count) fields as in the header, found \(fields.count) (a truncated or malformed line)")
        }
        return DataRecord(line: line, storage: .csv(reader, fields))
    }

    private func nextJSONLine() throws(DataFileError) -> DataRecord? {
        while jsonPosition < contentCount {
            jsonLine += 1
            let end = bytes[jsonPosition..<contentCount].firstIndex(of: UInt8(ascii: "\n")) ?? contentCount
            let slice = bytes[jsonPosition..<end]
            jsonPosition = min(end + 1, contentCount)
            guard slice.contains(where: { !($0 == 32 || $0 == 9 || $0 == 13) }) else { continue }
            let line = jsonLine
            var values = [JSONRecordValue](repeating: .missing, count: columnNames.count)
            guard let fast = slice.withUnsafeBytes(JSONLineParser.line) else {
                for (key, value) in try Self.foundationEntries(slice, file: file, line: line) { values[column(key, in: &values)] = value }
                return DataRecord(line: line, storage: .json(values))
            }
            let entries = fast.entries
            if entries.count != lastJSONKeys.count || !entries.indices.allSatisfy({ entries[$0].key == lastJSONKeys[$0] }) {
                lastJSONKeys = entries.map(\.key)
                lastJSONWrites = fast.order.map { (position: $0, column: column(entries[$0].key, in: &values)) }
            }
            for write in lastJSONWrites { values[write.column] = entries[write.position].value }
            return DataRecord(line: line, storage: .json(values))
        }
        return nil
    }

    /// The column of `key`, numbered next when it is new (and given a place in `values`).
    private func column(_ key: String, in values: inout [JSONRecordValue]) -> Int {
        if let known = columnIndex[key] { return known }
        let index = columnNames.count
        columnIndex[key] = index
        columnNames.append(key)
        values.append(.missing)
        return index
    }

    /// A line read by Foundation, for what ``JSONLineParser`` leaves to it: its fields in the same
    /// order (top-level keys sorted, a `features` object's keys sorted in its place), or the error
    /// naming the line.
    static func foundationEntries(_ slice: ArraySlice<UInt8>, file: String, line: Int) throws(DataFileError) -> [JSONLineParser.Entry] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(slice), options: []) else {
            throw DataFileError(file: file, line: line, "not valid JSON (a truncated or malformed line)")
        }
        guard let record = object as? [String: Any] else {
            throw DataFileError(file: file, line: line, "expected a JSON object per line")
        }
        var entries: [JSONLineParser.Entry] = []
        for key in record.keys.sorted() {
            if key == "features", let nested = record[key] as? [String: Any] {
                for inner in nested.keys.sorted() { entries.append((inner, try JSONRecordValue(nested[inner]!, key: inner, file: file, line: line))) }
            } else {
                entries.append((key, try JSONRecordValue(record[key]!, key: key, file: file, line: line)))
            }
        }
        return entries
    }
}

/// One record of a data file: its line and its fields by column index.
public struct DataRecord {
    /// The 1-based line the record starts on.
    public let line: Int
    fileprivate enum Storage {
        case csv(CSVReader, [CSVReader.Field])
        case json([JSONRecordValue])
    }

    fileprivate let storage: Storage

    fileprivate init(line: Int, storage: Storage) {
        self.line = line
        self.storage = storage
    }

    /// Whether the field is absent, empty, JSON `null` or a missing marker such as `NA`.
    public func isMissing(_ column: Int) -> Bool {
        switch storage {
        case let .csv(reader, fields): return column >= fields.count || reader.isMissing(fields[column])
        case let .json(values):
            guard column < values.count else { return true }
            if case let .text(text) = values[column] { return text.isEmpty || DataTable.missingMarkers.contains(text) }
            if case .missing = values[column] { return true }
            return false
        }
    }

    /// The field as a finite number (JSON numbers, or text that reads as one); `nil` otherwise.
    public func number(_ column: Int) -> Double? {
        switch storage {
        case let .csv(reader, fields): return column < fields.count ? reader.number(fields[column]) : nil
        case let .json(values):
            guard column < values.count else { return nil }
            switch values[column] {
            case let .number(value): return value.isFinite ? value : nil
            case let .text(text): return Double(text).flatMap { $0.isFinite ? $0 : nil }
            case .bool, .missing, .numbers: return nil
            }
        }
    }

    /// The field as an array of numbers (an embedding): a JSON array, or text holding one
    /// (`[0.1, 0.2]` in a CSV field); an element that is not a number is `nil`. `nil` when the
    /// field is neither.
    public func numbers(_ column: Int) -> [Double?]? {
        if case let .json(values) = storage, column < values.count, case let .numbers(numbers) = values[column] { return numbers }
        return text(column).flatMap(EmbeddingText.numbers)
    }

    /// The field as text as written (numbers and Booleans of JSON in their usual spelling); `nil`
    /// for a missing field or invalid UTF-8.
    public func text(_ column: Int) -> String? {
        switch storage {
        case let .csv(reader, fields): return column < fields.count ? reader.text(fields[column]) : nil
        case let .json(values):
            guard column < values.count else { return nil }
            switch values[column] {
            case let .text(text): return text
            case let .number(value): return NumberText.format(value)
            case let .bool(value): return value ? "true" : "false"
            case let .numbers(numbers): return Self.arrayText(numbers)
            case .missing: return nil
            }
        }
    }

    /// Calls `body` with the field's UTF-8 bytes (unescaped CSV fields; JSON text and numbers as written).
    public func withBytes<Result>(_ column: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Result?) -> Result? {
        switch storage {
        case let .csv(reader, fields):
            guard column < fields.count else { return nil }
            let field = fields[column]
            if field.quoted { return text(column).flatMap { var text = $0; return text.withUTF8 { body($0) } } }
            return reader.bytes.withUnsafeBufferPointer { buffer in body(UnsafeBufferPointer(rebasing: buffer[field.start..<field.end])) }
        case .json:
            guard var text = text(column) else { return nil }
            return text.withUTF8 { body($0) }
        }
    }

    /// The field's bytes when the field is unquoted plain ASCII (CSV only): copied as they are,
    /// they need no UTF-8 validation or `String`.
    public func asciiBytes(_ column: Int) -> ArraySlice<UInt8>? {
        guard case let .csv(reader, fields) = storage, column < fields.count else { return nil }
        return reader.asciiBytes(fields[column])
    }

    /// The field's bytes when they are already a number in JSON's syntax (`-?digits[.digits][e±digits]`),
    /// so a loader can copy them instead of formatting the parsed value again; `nil` otherwise.
    public func rawNumber(_ column: Int) -> ArraySlice<UInt8>? {
        guard case let .csv(reader, fields) = storage, column < fields.count, !fields[column].quoted else { return nil }
        let slice = reader.bytes[fields[column].start..<fields[column].end]
        return JSONNumberSyntax.matches(slice) ? slice : nil
    }

    /// The whole record as one line of text, for quarantine and error reports.
    public var raw: String {
        switch storage {
        case let .csv(reader, fields):
            guard let first = fields.first, let last = fields.last else { return "" }
            let start = first.quoted ? first.start - 1 : first.start
            let end = last.quoted ? last.end + 1 : last.end
            return String(decoding: reader.bytes[start..<min(end, reader.bytes.count - 1)], as: UTF8.self)
        case let .json(values):
            return values.map { value in
                switch value {
                case let .text(text): text
                case let .number(number): NumberText.format(number)
                case let .bool(flag): flag ? "true" : "false"
                case let .numbers(numbers): Self.arrayText(numbers)
                case .missing: ""
                }
            }.joined(separator: ",")
        }
    }

    private static func arrayText(_ numbers: [Double?]) -> String {
        "[" + numbers.map { $0.map(NumberText.format) ?? "null" }.joined(separator: ",") + "]"
    }
}

/// A JSON field reduced to what a data record holds.
enum JSONRecordValue: Equatable {
    case missing
    case number(Double)
    case bool(Bool)
    case text(String)
    /// An array (an embedding); an element that is not a number is `nil`.
    case numbers([Double?])

    init(_ value: Any, key: String, file: String, line: Int) throws(DataFileError) {
        switch value {
        case is NSNull: self = .missing
        case let number as NSNumber:
            self = String(cString: number.objCType) == "c" ? .bool(number.boolValue) : .number(number.doubleValue)
        case let text as String: self = .text(text)
        case let array as [Any]:
            self = .numbers(array.map { element in
                guard let number = element as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
                return number.doubleValue
            })
        default:
            throw DataFileError(file: file, line: line, "field '\(key)' is an object; only numbers, strings, booleans, null and arrays of numbers (embeddings) are supported")
        }
    }
}

/// JSON's number grammar, checked on bytes.
enum JSONNumberSyntax {
    static func matches<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes) -> Bool where Bytes.Index == Int {
        var index = bytes.startIndex
        let end = bytes.endIndex
        func digits() -> Int {
            let start = index
            while index < end, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
            return index - start
        }
        if index < end, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        let integerDigits = digits()
        guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else { return false }
        if index < end, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return false }
        }
        if index < end, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return false }
        }
        return index == end
    }
}
