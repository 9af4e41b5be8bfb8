import Foundation

/// Reads a CSV or JSON-lines data file into a ``DataTable``.
///
/// CSV files need a header row; JSON-lines files hold one object per line, and their columns are
/// the keys in order of first appearance (alphabetical among keys first seen on the same line). Empty fields, JSON `null` and the
/// ``DataTable/missingMarkers`` are missing values. Columns are numeric when every present value
/// is a finite number, unless `readings` says otherwise. Every problem is reported as
/// `file:line: reason`.
public enum DataFileReader {
    /// The formats, told apart by file extension (`.csv`; `.jsonl`, `.ndjson`, `.json`).
    public enum Format: String, Sendable, CaseIterable {
        case csv
        case jsonLines = "jsonl"

        public init?(path: String) {
            switch URL(fileURLWithPath: path).pathExtension.lowercased() {
            case "csv": self = .csv
            case "jsonl", "ndjson", "json": self = .jsonLines
            default: return nil
            }
        }
    }

    /// Reads the file at `path`.
    ///
    /// - Parameter readings: how to read named columns; unnamed columns are ``ColumnReading/inferred``.
    /// - Throws: ``DataFileError`` naming the file and, where there is one, the line.
    public static func read(
        path: String, format: Format? = nil, readings: [String: ColumnReading] = [:]
    ) throws(DataFileError) -> DataTable {
        guard let format = format ?? Format(path: path) else {
            throw DataFileError(file: path, line: nil, "unknown data format; use a .csv or .jsonl file")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw DataFileError(file: path, line: nil, "cannot read the file: \((error as NSError).localizedDescription)")
        }
        switch format {
        case .csv: return try readCSV(CSVReader(file: path, terminatedBytes: CSVReader.terminated(data)), readings: readings)
        case .jsonLines: return try JSONLinesReader(file: path, data: data).read(readings: readings)
        }
    }

    static func readCSV(_ reader: CSVReader, readings: [String: ColumnReading]) throws(DataFileError) -> DataTable {
        var header: [String]?
        var builders: [ColumnBuilder] = []
        try reader.forEachRecord { fields, line throws(DataFileError) in
            guard let names = header else {
                let names = try reader.header(fields, line: line)
                header = names
                builders = names.map { ColumnBuilder(name: $0, reading: readings[$0] ?? .inferred) }
                return
            }
            guard fields.count == names.count else {
                throw DataFileError(file: reader.file, line: line, "expected \(names.count) fields as in the header, found \(fields.count)")
            }
            for (index, field) in fields.enumerated() {
                try builders[index].append(field, reader: reader, line: line)
            }
        }
        guard let header else { throw DataFileError(file: reader.file, line: nil, "the file is empty; a header row is needed") }
        return DataTable(columnNames: header, columns: builders.map { $0.column() })
    }
}

/// Accumulates one CSV column, as numbers for as long as every value is one.
struct ColumnBuilder {
    let name: String
    let reading: ColumnReading
    private var numbers: [Double] = []
    private var texts: [String?] = []
    private var isText: Bool

    init(name: String, reading: ColumnReading) {
        self.name = name
        self.reading = reading
        isText = reading == .text
    }

    mutating func append(_ field: CSVReader.Field, reader: CSVReader, line: Int) throws(DataFileError) {
        if !isText {
            if let number = reader.number(field) {
                numbers.append(number)
                return
            }
            if reader.isMissing(field) {
                numbers.append(.nan)
                return
            }
            guard reading == .inferred else {
                let shown = reader.text(field).map { "'\($0.prefix(40))'" } ?? "invalid UTF-8"
                throw DataFileError(file: reader.file, line: line, "column '\(name)': \(shown) is not a number")
            }
            // Not numeric after all: the numbers so far become text as written.
            isText = true
            texts = numbers.map { $0.isNaN ? nil : NumberText.format($0) }
            numbers = []
        }
        if reader.isMissing(field) {
            texts.append(nil)
        } else if let text = reader.text(field) {
            texts.append(text)
        } else {
            throw DataFileError(file: reader.file, line: line, "column '\(name)': the value is not valid UTF-8")
        }
    }

    func column() -> DataTable.Column {
        isText ? .text(texts) : .numeric(numbers)
    }
}
