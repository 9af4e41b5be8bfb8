/// Splits a SQL file into statements, because PostgreSQL's extended protocol runs one at a time.
///
/// Understands what can hide a semicolon: single-quoted strings (with `''` escapes and `E''`
/// backslash escapes), double-quoted identifiers, dollar-quoted bodies (`$$…$$`, `$fn$…$fn$`),
/// line comments and nested block comments. Statements that hold only comments are dropped.
public struct SQLScript: Sendable {
    /// One statement with the 1-based line it starts on, for error messages.
    public struct Statement: Sendable, Equatable {
        public let sql: String
        public let line: Int
    }

    public let statements: [Statement]

    public init(_ text: String) {
        var statements: [Statement] = []
        var current: [UInt8] = []
        var hasCode = false
        var line = 1
        var startLine = 1
        let bytes = Array(text.utf8)
        var index = 0

        func flush() {
            if hasCode, let sql = String(validating: current, as: UTF8.self) {
                let trimmed = sql.trimmingWhitespace()
                if !trimmed.isEmpty { statements.append(Statement(sql: trimmed, line: startLine)) }
            }
            current.removeAll(keepingCapacity: true)
            hasCode = false
        }
        /// Copies bytes up to and including the first occurrence of `terminator` at or after `from`.
        func copy(through terminator: [UInt8], from: Int) -> Int {
            var position = from
            while position < bytes.count {
                if bytes[position] == UInt8(ascii: "\n") { line += 1 }
                if bytes[position...].starts(with: terminator) {
                    current.append(contentsOf: bytes[position..<position + terminator.count])
                    return position + terminator.count
                }
                current.append(bytes[position])
                position += 1
            }
            return position
        }

        while index < bytes.count {
            let byte = bytes[index]
            if !hasCode && !Self.isWhitespace(byte) && byte != UInt8(ascii: ";") && !bytes[index...].starts(with: Self.lineComment)
                && !bytes[index...].starts(with: Self.blockCommentOpen) {
                hasCode = true
                startLine = line
            }
            switch byte {
            case UInt8(ascii: ";"):
                flush()
                index += 1
            case UInt8(ascii: "'"):
                let escapes = index > 0 && (bytes[index - 1] == UInt8(ascii: "E") || bytes[index - 1] == UInt8(ascii: "e"))
                current.append(byte)
                index = Self.skipQuoted(bytes, from: index + 1, quote: byte, backslashEscapes: escapes, into: &current, line: &line)
            case UInt8(ascii: "\""):
                current.append(byte)
                index = Self.skipQuoted(bytes, from: index + 1, quote: byte, backslashEscapes: false, into: &current, line: &line)
            case UInt8(ascii: "-") where bytes[index...].starts(with: Self.lineComment):
                index = copy(through: [UInt8(ascii: "\n")], from: index)
                if !hasCode { current.removeAll(keepingCapacity: true) }
            case UInt8(ascii: "/") where bytes[index...].starts(with: Self.blockCommentOpen):
                index = Self.skipBlockComment(bytes, from: index, into: &current, line: &line)
                if !hasCode { current.removeAll(keepingCapacity: true) }
            case UInt8(ascii: "$"):
                if let tag = Self.dollarTag(bytes, at: index) {
                    current.append(contentsOf: tag)
                    index = copy(through: tag, from: index + tag.count)
                } else {
                    current.append(byte)
                    index += 1
                }
            default:
                if byte == UInt8(ascii: "\n") { line += 1 }
                current.append(byte)
                index += 1
            }
        }
        flush()
        self.statements = statements
    }

    private static let lineComment: [UInt8] = Array("--".utf8)
    private static let blockCommentOpen: [UInt8] = Array("/*".utf8)

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private static func skipQuoted(
        _ bytes: [UInt8], from start: Int, quote: UInt8, backslashEscapes: Bool,
        into current: inout [UInt8], line: inout Int
    ) -> Int {
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            current.append(byte)
            index += 1
            if byte == UInt8(ascii: "\n") { line += 1 }
            if backslashEscapes && byte == UInt8(ascii: "\\") && index < bytes.count {
                current.append(bytes[index])
                index += 1
            } else if byte == quote {
                guard index < bytes.count, bytes[index] == quote else { return index }
                current.append(bytes[index])
                index += 1
            }
        }
        return index
    }

    private static func skipBlockComment(_ bytes: [UInt8], from start: Int, into current: inout [UInt8], line: inout Int) -> Int {
        var depth = 0
        var index = start
        while index < bytes.count {
            if bytes[index...].starts(with: blockCommentOpen) {
                depth += 1
                current.append(contentsOf: blockCommentOpen)
                index += 2
            } else if bytes[index...].starts(with: [UInt8(ascii: "*"), UInt8(ascii: "/")]) {
                depth -= 1
                current.append(contentsOf: [UInt8(ascii: "*"), UInt8(ascii: "/")])
                index += 2
                if depth == 0 { return index }
            } else {
                if bytes[index] == UInt8(ascii: "\n") { line += 1 }
                current.append(bytes[index])
                index += 1
            }
        }
        return index
    }

    /// The `$tag$` opening at `index`, if there is one (`$1` parameters are not tags).
    private static func dollarTag(_ bytes: [UInt8], at index: Int) -> [UInt8]? {
        var end = index + 1
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "$") { return Array(bytes[index...end]) }
            let isLetter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") || byte == UInt8(ascii: "_") || byte >= 0x80
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            guard isLetter || (isDigit && end > index + 1) else { return nil }
            end += 1
        }
        return nil
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
