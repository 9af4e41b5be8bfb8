import Foundation

/// Reads RFC 4180 CSV: a header row, comma-separated fields, optional double quotes (`""` inside
/// quotes is one quote), LF or CRLF line ends. Numbers are parsed straight from the bytes.
struct CSVReader {
    let file: String
    let bytes: [UInt8]

    /// One field's bytes, `start..<end` of the buffer, and whether it was quoted (and so may hold `""`).
    struct Field {
        var start: Int
        var end: Int
        var quoted: Bool
    }

    /// - Parameter terminatedBytes: the file's bytes, then one 0 byte: strtod needs a terminator
    ///   after the last field. ``terminated(_:)`` makes them with a single copy of the file.
    init(file: String, terminatedBytes: [UInt8]) {
        precondition(terminatedBytes.last == 0, "CSV bytes must end with a 0 byte")
        self.file = file
        bytes = terminatedBytes
    }

    /// `content`, copied once into storage sized for it, followed by a 0 byte.
    static func terminated<Content: Collection<UInt8>>(_ content: Content) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(content.count + 1)
        bytes.append(contentsOf: content)
        bytes.append(0)
        return bytes
    }

    /// Calls `body` with each record's fields and the 1-based line it starts on.
    func forEachRecord(_ body: (_ fields: [Field], _ line: Int) throws(DataFileError) -> Void) throws(DataFileError) {
        var cursor = Cursor()
        var fields: [Field] = []
        while let line = try next(&cursor, fields: &fields) {
            try body(fields, line)
        }
    }

    /// The column names of a header row: each non-empty and distinct.
    func header(_ fields: [Field], line: Int) throws(DataFileError) -> [String] {
        var names: [String] = []
        for field in fields {
            guard let name = text(field)?.trimmingCharacters(in: .whitespaces), !name.isEmpty else {
                throw DataFileError(file: file, line: line, "the header row has an empty or unreadable column name (column \(names.count + 1))")
            }
            guard !names.contains(name) else {
                throw DataFileError(file: file, line: line, "the header row names column '\(name)' twice")
            }
            names.append(name)
        }
        return names
    }

    /// Where a read has got to.
    struct Cursor {
        var position = 0
        var line = 1
    }

    /// Reads the next record into `fields` and returns the line it starts on; `nil` at the end.
    func next(_ cursor: inout Cursor, fields: inout [Field]) throws(DataFileError) -> Int? {
        let count = bytes.count - 1
        var position = cursor.position
        var line = cursor.line
        defer {
            cursor.position = position
            cursor.line = line
        }
        while position < count {
            let recordLine = line
            fields.removeAll(keepingCapacity: true)
            var endOfRecord = false
            while !endOfRecord {
                var field = Field(start: position, end: position, quoted: false)
                if position < count && bytes[position] == UInt8(ascii: "\"") {
                    field.quoted = true
                    position += 1
                    field.start = position
                    while true {
                        guard position < count else {
                            throw DataFileError(file: file, line: recordLine, "a quoted field is never closed")
                        }
                        let byte = bytes[position]
                        if byte == UInt8(ascii: "\"") {
                            if position + 1 < count && bytes[position + 1] == UInt8(ascii: "\"") {
                                position += 2
                                continue
                            }
                            break
                        }
                        if byte == UInt8(ascii: "\n") { line += 1 }
                        position += 1
                    }
                    field.end = position
                    position += 1
                    if position < count, ![UInt8(ascii: ","), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(bytes[position]) {
                        throw DataFileError(file: file, line: line, "unexpected text after a closing quote")
                    }
                } else {
                    while position < count {
                        let byte = bytes[position]
                        if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { break }
                        position += 1
                    }
                    field.end = position
                }
                fields.append(field)
                if position >= count {
                    endOfRecord = true
                } else if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                } else {
                    if bytes[position] == UInt8(ascii: "\r") { position += 1 }
                    if position < count && bytes[position] == UInt8(ascii: "\n") { position += 1 }
                    line += 1
                    endOfRecord = true
                }
            }
            // A blank line is not a record.
            if fields.count == 1 && fields[0].start == fields[0].end && !fields[0].quoted { continue }
            return recordLine
        }
        return nil
    }

    /// The field as text, with `""` unescaped; `nil` for invalid UTF-8.
    func text(_ field: Field) -> String? {
        let slice = bytes[field.start..<field.end]
        guard let text = UTF8Text.string(slice) else { return nil }
        return field.quoted ? text.replacingOccurrences(of: "\"\"", with: "\"") : text
    }

    /// The field as a finite number, `nil` when it is not one. Whitespace-free decimal or exponent form.
    func number(_ field: Field) -> Double? {
        guard field.end > field.start else { return nil }
        if let value = simpleDecimal(field) { return value }
        let first = bytes[field.start]
        // strtod would accept leading spaces, hex and "inf"; a data value must look like a number.
        guard first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
            || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else { return nil }
        return bytes.withUnsafeBufferPointer { buffer -> Double? in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(base + field.start, &end)
            guard let end, end - UnsafeMutablePointer(mutating: base) == field.end, value.isFinite else { return nil }
            if buffer[field.start..<field.end].contains(where: { $0 == UInt8(ascii: "x") || $0 == UInt8(ascii: "X") }) { return nil }
            return value
        }
    }

    /// ``NumberText/simpleDecimal(_:)`` on the field's bytes.
    private func simpleDecimal(_ field: Field) -> Double? {
        bytes.withUnsafeBytes { NumberText.simpleDecimal(UnsafeRawBufferPointer(rebasing: $0[field.start..<field.end])) }
    }

    /// Whether the field is empty or a missing marker.
    func isMissing(_ field: Field) -> Bool {
        let length = field.end - field.start
        if length == 0 { return true }
        guard length <= 4 else { return false }
        let slice = bytes[field.start..<field.end]
        return DataTable.missingMarkerBytes.contains { $0.elementsEqual(slice) }
    }

    /// The field's bytes when it is unquoted and plain ASCII, so they can be copied as they are.
    func asciiBytes(_ field: Field) -> ArraySlice<UInt8>? {
        guard !field.quoted else { return nil }
        let slice = bytes[field.start..<field.end]
        return slice.allSatisfy { $0 < 0x80 } ? slice : nil
    }
}
