import Foundation
import VigilWorkflow

/// Builds rows in PostgreSQL's COPY text format: tab-separated fields, `\N` for NULL, and
/// backslash escapes for backslash, tab, newline and carriage return inside a field.
struct CopyText {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
    }

    /// Drops everything after the first `count` bytes (a row abandoned half-way).
    mutating func truncate(to count: Int) {
        bytes.removeSubrange(count...)
    }

    mutating func separator() { bytes.append(UInt8(ascii: "\t")) }
    mutating func endRow() { bytes.append(UInt8(ascii: "\n")) }
    mutating func null() {
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(UInt8(ascii: "N"))
    }

    /// Text as one field, escaped.
    mutating func text(_ text: String) {
        for byte in text.utf8 { escaped(byte) }
    }

    /// UTF-8 bytes as one field, escaped.
    mutating func text(_ raw: ArraySlice<UInt8>) {
        for byte in raw { escaped(byte) }
    }

    /// Bytes known to need no escaping (digits, fixed keywords, pre-escaped keys).
    mutating func verbatim(_ raw: [UInt8]) {
        bytes.append(contentsOf: raw)
    }

    /// As ``verbatim(_:)-([UInt8])``, for a slice of a file's bytes.
    mutating func verbatim(_ raw: ArraySlice<UInt8>) {
        bytes.append(contentsOf: raw)
    }

    /// One byte that needs no escaping.
    mutating func byte(_ byte: UInt8) {
        bytes.append(byte)
    }

    /// A timestamp as `YYYY-MM-DD HH:MM:SS.ffffff+00` (``Timestamp/format(_:into:)``).
    mutating func timestamp(_ seconds: Double) {
        Timestamp.format(seconds, into: &bytes)
    }

    /// A request key in uuid text form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    mutating func uuid(_ key: RequestKey) {
        hex(key.high, dashAfter: 0b1010_1000) // bytes 0–7: dashes after bytes 3, 5 and 7
        hex(key.low, dashAfter: 0b0000_0010) // bytes 8–15: a dash after byte 9
    }

    /// The eight bytes of `value` from the top as hex digits, with a dash after each byte whose bit is set in `dashAfter`.
    private mutating func hex(_ value: UInt64, dashAfter: UInt8) {
        for index in 0..<8 {
            let byte = UInt8(truncatingIfNeeded: value >> (56 - 8 * index))
            bytes.append(Self.hexDigits[Int(byte >> 4)])
            bytes.append(Self.hexDigits[Int(byte & 15)])
            if dashAfter & (1 << index) != 0 { bytes.append(UInt8(ascii: "-")) }
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    mutating func number(_ value: Double) {
        if value == value.rounded(.towardZero), abs(value) < 1e15 {
            integer(Int64(value))
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    mutating func integer(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
        }
    }

    /// A JSON string literal (quotes included) inside a field: JSON escapes, then COPY escapes.
    mutating func jsonString(_ text: String) {
        jsonString(utf8: text.utf8)
    }

    /// As ``jsonString(_:)-(String)``, from UTF-8 bytes.
    mutating func jsonString(_ raw: ArraySlice<UInt8>) {
        jsonString(utf8: raw)
    }

    private mutating func jsonString<Bytes: Sequence<UInt8>>(utf8: Bytes) {
        bytes.append(UInt8(ascii: "\""))
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\"), UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0..<0x20:
                // \u00XX, its backslash doubled for COPY.
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                          Self.hexDigits[Int(byte >> 4)], Self.hexDigits[Int(byte & 15)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func escaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case UInt8(ascii: "\t"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case UInt8(ascii: "\r"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        default: bytes.append(byte)
        }
    }
}
