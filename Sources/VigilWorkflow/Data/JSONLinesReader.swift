import Foundation

/// Reads JSON lines: one JSON object per non-blank line.
struct JSONLinesReader {
    let file: String
    let data: Data

    func read(readings: [String: ColumnReading]) throws(DataFileError) -> DataTable {
        var names: [String] = []
        var values: [String: [Any?]] = [:]
        var rows = 0
        var line = 0
        // The file line of each record, for errors found column by column.
        var lines: [Int] = []
        var start = data.startIndex
        while start < data.endIndex {
            line += 1
            let end = data[start...].firstIndex(of: UInt8(ascii: "\n")) ?? data.endIndex
            let slice = data[start..<end]
            start = end < data.endIndex ? end + 1 : end
            guard slice.contains(where: { !($0 == 32 || $0 == 9 || $0 == 13) }) else { continue }
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: slice, options: [.fragmentsAllowed])
            } catch {
                throw DataFileError(file: file, line: line, "not valid JSON")
            }
            guard let record = object as? [String: Any] else {
                throw DataFileError(file: file, line: line, "expected a JSON object per line")
            }
            for key in record.keys.sorted() where values[key] == nil {
                names.append(key)
                values[key] = Array(repeating: nil, count: rows)
            }
            for name in names {
                let value = record[name]
                if let value, !(value is NSNull), !(value is NSNumber), !(value is String), !(value is [Any]) {
                    throw DataFileError(file: file, line: line, "field '\(name)' is an object; only numbers, strings, booleans, null and arrays of numbers (embeddings) are supported")
                }
                values[name]!.append(value is NSNull ? nil : value)
            }
            rows += 1
            lines.append(line)
        }
        guard !names.isEmpty else { throw DataFileError(file: file, line: nil, "the file holds no records") }
        var columns: [DataTable.Column] = []
        for name in names {
            let values = values[name]!
            if values.contains(where: { $0 is [Any] }) {
                columns.append(.embedding(try embedding(name, values, lines: lines)))
            } else {
                columns.append(try column(name, values, reading: readings[name] ?? .inferred))
            }
        }
        return DataTable(columnNames: names, columns: columns)
    }

    /// A column of arrays of numbers: each present value an array of the first one's length, of
    /// finite numbers; anything else is an error naming its line.
    private func embedding(_ name: String, _ values: [Any?], lines: [Int]) throws(DataFileError) -> DataTable.EmbeddingColumn {
        var dimension: Int?
        var rows: [[Double]?] = []
        rows.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            guard let value, !(value is NSNull) else {
                rows.append(nil)
                continue
            }
            guard let array = value as? [Any] else {
                throw DataFileError(file: file, line: lines[index], "column '\(name)' holds arrays (an embedding) on other lines, but \(value) here")
            }
            var numbers: [Double] = []
            numbers.reserveCapacity(array.count)
            for element in array {
                guard let number = number(element), number.isFinite, Float(number).isFinite else {
                    throw DataFileError(file: file, line: lines[index], "column '\(name)': an embedding's values must be finite numbers, not \(element)")
                }
                numbers.append(number)
            }
            if let dimension, numbers.count != dimension {
                throw DataFileError(file: file, line: lines[index], "column '\(name)': this embedding has \(numbers.count) values, earlier ones \(dimension)")
            }
            guard !numbers.isEmpty else { throw DataFileError(file: file, line: lines[index], "column '\(name)': an empty embedding") }
            dimension = numbers.count
            rows.append(numbers)
        }
        return DataTable.EmbeddingColumn(dimension: dimension ?? 0, rows: rows)
    }

    /// A JSON number that is not a Boolean.
    private func number(_ value: Any?) -> Double? {
        guard let number = value as? NSNumber, !isBoolean(number) else { return nil }
        return number.doubleValue
    }

    /// JSON `true`/`false`, which Foundation hands back as a Boolean-typed `NSNumber`.
    private func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    private func column(_ name: String, _ values: [Any?], reading: ColumnReading) throws(DataFileError) -> DataTable.Column {
        let isMissing: (Any?) -> Bool = { value in
            value == nil || (value as? String).map { $0.isEmpty || DataTable.missingMarkers.contains($0) } == true
        }
        if reading != .text {
            var numbers: [Double] = []
            numbers.reserveCapacity(values.count)
            var numeric = true
            for (index, value) in values.enumerated() {
                if isMissing(value) {
                    numbers.append(.nan)
                } else if let number = number(value), number.isFinite {
                    numbers.append(number)
                } else if reading == .numeric {
                    throw DataFileError(file: file, line: index + 1, "column '\(name)': \(value.map { "\($0)" } ?? "null") is not a number")
                } else {
                    numeric = false
                    break
                }
            }
            if numeric { return .numeric(numbers) }
        }
        return .text(values.map { value in
            if isMissing(value) { return nil }
            if let number = value as? NSNumber {
                return isBoolean(number) ? (number.boolValue ? "true" : "false") : NumberText.format(number.doubleValue)
            }
            return value as? String
        })
    }
}
