/// The fast path for one line of a JSON-lines data file in the shape inference logs have: an
/// object of numbers, strings, Booleans, nulls and arrays of those (embeddings), with at most a
/// nested `features` object of the same.
///
/// It answers only where it is sure to agree with Foundation's `JSONSerialization`, which a line
/// costs several times more: anything else (escapes other than the simple ones, `\u` escapes,
/// invalid UTF-8, numbers past 15 significant digits or with exponents, `-0`, deeper nesting, a
/// key given twice, or any syntax error) gets `nil`, and the caller hands the line to Foundation,
/// which decides it and words its errors as before.
struct JSONLineParser {
    /// A field: its key and value.
    typealias Entry = (key: String, value: JSONRecordValue)

    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    private init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// A line's fields as they came: a `features` object's members in its place.
    struct Line {
        var entries: [Entry]
        /// Where the `features` object's members lie in `entries`, when the line has one.
        var features: Range<Int>?

        /// The positions of `entries` in the order ``DataRecordReader`` numbers new columns and
        /// stores values (a key given both at the top level and in `features`: the later one
        /// stands): top-level keys sorted, a `features` object's keys sorted in its place.
        var order: [Int] {
            func rank(_ position: Int) -> (String, String) {
                features?.contains(position) == true ? ("features", entries[position].key) : (entries[position].key, "")
            }
            return entries.indices.sorted { rank($0) < rank($1) }
        }
    }

    /// The line's fields as they came, or `nil` when Foundation must decide the line.
    static func line(_ line: UnsafeRawBufferPointer) -> Line? {
        var parser = JSONLineParser(line)
        parser.skipSpace()
        var parsed = Line(entries: [], features: nil)
        guard parser.object(into: &parsed, topLevel: true) else { return nil }
        parser.skipSpace()
        guard parser.position == line.count else { return nil }
        return parsed
    }

    private var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipSpace() {
        while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        position += 1
        return true
    }

    /// `{ "key": value, … }` into `line`, in the line's order; `false` on anything the fast path
    /// leaves to Foundation, a key given twice included. At the top level, a `features` key may
    /// hold an object of plain values, whose members take its place.
    ///
    /// Arrays rather than dictionaries: a line has a dozen keys or so, and hashing each (twice,
    /// with a dictionary's growth) cost more than the rest of the parse.
    private mutating func object(into line: inout Line, topLevel: Bool) -> Bool {
        guard take(UInt8(ascii: "{")) else { return false }
        skipSpace()
        if take(UInt8(ascii: "}")) { return true }
        // This object's keys so far; past a few, a set finds one given twice faster than a scan.
        var keys: [String] = []
        var seen: Set<String>?
        repeat {
            skipSpace()
            guard let key = string() else { return false }
            skipSpace()
            guard take(UInt8(ascii: ":")) else { return false }
            skipSpace()
            guard !(seen?.contains(key) ?? keys.contains(key)) else { return false }
            keys.append(key)
            if seen != nil {
                seen?.insert(key)
            } else if keys.count == 16 {
                seen = Set(keys)
            }
            if topLevel, key == "features", peek == UInt8(ascii: "{") {
                var members = Line(entries: [], features: nil)
                guard object(into: &members, topLevel: false) else { return false }
                line.features = line.entries.count..<line.entries.count + members.entries.count
                line.entries += members.entries
            } else {
                guard let value = plainValue() else { return false }
                line.entries.append((key, value))
            }
            skipSpace()
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "}"))
    }

    /// A number, string, Boolean, null or array of those.
    private mutating func plainValue() -> JSONRecordValue? {
        switch peek {
        case UInt8(ascii: "\""): return string().map(JSONRecordValue.text)
        case UInt8(ascii: "["): return array().map(JSONRecordValue.numbers)
        case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return literal("null") ? .missing : nil
        default: return number().map(JSONRecordValue.number)
        }
    }

    /// An array of numbers, with `nil` for its strings, Booleans and nulls (as Foundation's path
    /// reads an embedding); nested arrays and objects are left to Foundation.
    private mutating func array() -> [Double?]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var elements: [Double?] = []
        skipSpace()
        if take(UInt8(ascii: "]")) { return elements }
        repeat {
            skipSpace()
            switch plainValue() {
            case let .number(value)?: elements.append(value)
            case .text?, .bool?, .missing?: elements.append(nil)
            case .numbers?, nil: return nil
            }
            skipSpace()
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? elements : nil
    }

    private mutating func literal(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[position + offset] != text.utf8Start[offset] { return false }
        position += count
        return true
    }

    /// A number in JSON's grammar that ``NumberText/simpleDecimal(_:)`` reads exactly; not `-0`,
    /// which Foundation reads as an integer zero.
    private mutating func number() -> Double? {
        let start = position
        while let byte = peek, (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") {
            position += 1
        }
        let text = UnsafeRawBufferPointer(rebasing: bytes[start..<position])
        guard JSONNumberSyntax.matches(text), let value = NumberText.simpleDecimal(text), value != 0 || text.first != UInt8(ascii: "-") else { return nil }
        return value
    }

    /// A string with no escapes but `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r` and `\t`, no control
    /// characters, and valid UTF-8.
    private mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = position
        var unescaped: [UInt8]?
        while let byte = peek {
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                if let unescaped { return UTF8Text.string(unescaped[...]) }
                return UTF8Text.string(UnsafeRawBufferPointer(rebasing: bytes[start..<(position - 1)]))
            case UInt8(ascii: "\\"):
                if unescaped == nil { unescaped = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<position])) }
                guard position + 1 < bytes.count, let replacement = Self.escapes[bytes[position + 1]] else { return nil }
                unescaped?.append(replacement)
                position += 2
            case 0x00..<0x20:
                return nil
            default:
                unescaped?.append(byte)
                position += 1
            }
        }
        return nil
    }

    private static let escapes: [UInt8: UInt8] = [
        UInt8(ascii: "\""): UInt8(ascii: "\""), UInt8(ascii: "\\"): UInt8(ascii: "\\"), UInt8(ascii: "/"): UInt8(ascii: "/"),
        UInt8(ascii: "b"): 0x08, UInt8(ascii: "f"): 0x0C, UInt8(ascii: "n"): 0x0A, UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09,
    ]
}
