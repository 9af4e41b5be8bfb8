import Foundation
import VigilStatistics
import VigilWorkflow

/// Turns the `features` JSON of inference-log rows into one column per declared feature.
///
/// Parsing here rather than with `json_to_record` in SQL leaves PostgreSQL only streaming the
/// rows, and lets the two halves of a window be parsed on two cores. The objects are flat (the
/// ingest writes them), so this is a small scanner: keys are matched against the declared names,
/// numbers read with a correctly rounded fast path, strings unescaped only when they hold an
/// escape. A numeric feature whose value is not a number counts as a type mismatch and is missing.
struct FeatureColumns {
    private let names: [[UInt8]]
    private let numeric: [Bool]
    private(set) var numbers: [[Double]]
    private var categories: [CategoryReader]
    private(set) var mismatches: [Int]
    private var rowNumbers: [Double]
    private var rowTexts: [RowText]

    /// A text feature's value in the row being read.
    private enum RowText {
        case missing
        /// Plain text: these bytes of the row's JSON.
        case bytes(Range<Int>)
        /// Text that had to be made: unescaped, or a number or boolean read as a category.
        case made(String)
    }

    /// A categorical feature's column, by the feature's index.
    func texts(_ feature: Int) -> CategoryColumn { categories[feature].column }

    init(features: [ColumnSchema], capacity: Int = 0) {
        names = features.map { Array($0.name.utf8) }
        numeric = features.map(\.isNumeric)
        numbers = features.map { _ in [] }
        categories = features.map { _ in CategoryReader() }
        for index in features.indices {
            if numeric[index] { numbers[index].reserveCapacity(capacity) } else { categories[index].reserveCapacity(capacity) }
        }
        mismatches = Array(repeating: 0, count: features.count)
        rowNumbers = Array(repeating: .nan, count: features.count)
        rowTexts = Array(repeating: .missing, count: features.count)
    }

    /// Adds one row's features from its JSON object text.
    mutating func add(_ json: UnsafeRawBufferPointer) {
        for index in names.indices {
            rowNumbers[index] = .nan
            rowTexts[index] = .missing
        }
        var scanner = JSONScanner(bytes: json)
        scanner.skipSpace()
        if scanner.take(UInt8(ascii: "{")) {
            scanner.skipSpace()
            if !scanner.take(UInt8(ascii: "}")) {
                repeat {
                    scanner.skipSpace()
                    guard let key = scanner.stringRange() else { break }
                    scanner.skipSpace()
                    guard scanner.take(UInt8(ascii: ":")) else { break }
                    scanner.skipSpace()
                    let feature = index(of: key, in: json)
                    guard readValue(&scanner, json, feature: feature) else { break }
                    scanner.skipSpace()
                } while scanner.take(UInt8(ascii: ","))
            }
        }
        for index in names.indices {
            if numeric[index] {
                numbers[index].append(rowNumbers[index])
                continue
            }
            switch rowTexts[index] {
            case .missing: categories[index].appendMissing()
            case let .bytes(range): categories[index].append(UnsafeRawBufferPointer(rebasing: json[range]))
            case let .made(text): categories[index].append(text)
            }
        }
    }

    /// The declared feature a key names, or `nil` for an undeclared one.
    private func index(of key: JSONScanner.StringRange, in json: UnsafeRawBufferPointer) -> Int? {
        if key.escaped {
            let text = JSONScanner.unescape(json, key)
            return names.firstIndex { $0.elementsEqual(text.utf8) }
        }
        let length = key.range.count
        for (index, name) in names.enumerated() where name.count == length {
            if name.withUnsafeBytes({ memcmp($0.baseAddress!, json.baseAddress! + key.range.lowerBound, length) == 0 }) { return index }
        }
        return nil
    }

    private mutating func readValue(_ scanner: inout JSONScanner, _ json: UnsafeRawBufferPointer, feature: Int?) -> Bool {
        guard let byte = scanner.peek else { return false }
        switch byte {
        case UInt8(ascii: "\""):
            guard let string = scanner.stringRange() else { return false }
            if let feature {
                if numeric[feature] {
                    mismatches[feature] += 1
                } else {
                    rowTexts[feature] = string.escaped ? .made(JSONScanner.unescape(json, string)) : .bytes(string.range)
                }
            }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let range = scanner.numberRange()
            if let feature {
                if numeric[feature] {
                    rowNumbers[feature] = JSONScanner.number(json, range)
                } else {
                    rowTexts[feature] = .bytes(range)
                }
            }
        case UInt8(ascii: "n"):
            guard scanner.skipLiteral("null") else { return false }
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            let value = byte == UInt8(ascii: "t")
            guard scanner.skipLiteral(value ? "true" : "false") else { return false }
            if let feature {
                if numeric[feature] { mismatches[feature] += 1 } else { rowTexts[feature] = .made(value ? "true" : "false") }
            }
        default:
            // A nested value: not a feature value of any declared type.
            guard scanner.skipNested() else { return false }
            if let feature { mismatches[feature] += 1 }
        }
        return true
    }
}

/// A forward scanner over one JSON text.
struct JSONScanner {
    struct StringRange {
        /// The bytes between the quotes.
        let range: Range<Int>
        let escaped: Bool
    }

    let bytes: UnsafeRawBufferPointer
    var position = 0

    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipSpace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        position += 1
        return true
    }

    mutating func skipLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[position + offset] != literal.utf8Start[offset] { return false }
        position += count
        return true
    }

    mutating func stringRange() -> StringRange? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = position
        var escaped = false
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\""):
                position += 1
                return StringRange(range: start..<(position - 1), escaped: escaped)
            case UInt8(ascii: "\\"):
                escaped = true
                position += 2
            default:
                position += 1
            }
        }
        return nil
    }

    mutating func numberRange() -> Range<Int> {
        let start = position
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"):
                position += 1
            default:
                return start..<position
            }
        }
        return start..<position
    }

    /// Skips an array or object, strings included.
    mutating func skipNested() -> Bool {
        var depth = 0
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                position += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
                position += 1
                if depth == 0 { return true }
            case UInt8(ascii: "\""):
                guard stringRange() != nil else { return false }
            default:
                position += 1
            }
            if depth == 0 { return true }
        }
        return false
    }

    /// A JSON number: the exact fast path for plain decimals, Foundation's parser otherwise.
    static func number(_ json: UnsafeRawBufferPointer, _ range: Range<Int>) -> Double {
        let bytes = UnsafeRawBufferPointer(rebasing: json[range])
        return NumberText.simpleDecimal(bytes) ?? Double(String(decoding: bytes, as: UTF8.self)) ?? .nan
    }

    /// The text of a string with escapes, decoded through Foundation (rare: keys and values with quotes or non-ASCII escapes).
    static func unescape(_ json: UnsafeRawBufferPointer, _ string: StringRange) -> String {
        let quoted = Data([UInt8(ascii: "\"")] + Array(UnsafeRawBufferPointer(rebasing: json[string.range])) + [UInt8(ascii: "\"")])
        return (try? JSONSerialization.jsonObject(with: quoted, options: [.fragmentsAllowed])) as? String ?? ""
    }
}
