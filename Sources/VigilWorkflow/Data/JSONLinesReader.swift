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
                if let value, !(value is NSNull), !(value is NSNumber), !(value is String) {
                    throw DataFileError(file: file, line: line, "field '\(name)' is a nested value; only numbers, strings, booleans and null are supported")
                }
                values[name]!.append(value is NSNull ? nil : value)
            }
            rows += 1
        }
        guard !names.isEmpty else { throw DataFileError(file: file, line: nil, "the file holds no records") }
        var columns: [DataTable.Column] = []
        for name in names {
            columns.append(try column(name, values[name]!, reading: readings[name] ?? .inferred))
        }
        return DataTable(columnNames: names, columns: columns)
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
