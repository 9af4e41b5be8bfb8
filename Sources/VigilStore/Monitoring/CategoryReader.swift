import Foundation
import NIOCore
import VigilStatistics

/// Builds a ``CategoryColumn`` from its values' bytes as they are read.
///
/// The bytes of the last few distinct values are kept with their codes, so a repeated category (a
/// window's categories, predictions and labels take few values) costs a byte comparison, not a
/// `String` and a hash.
struct CategoryReader {
    private(set) var column = CategoryColumn()
    private var recent: [(bytes: [UInt8], code: UInt32)] = []

    mutating func reserveCapacity(_ rows: Int) {
        column.reserveCapacity(rows)
    }

    mutating func append(_ raw: UnsafeRawBufferPointer) {
        for entry in recent where entry.bytes.count == raw.count {
            let same = raw.isEmpty || entry.bytes.withUnsafeBytes { memcmp($0.baseAddress!, raw.baseAddress!, raw.count) == 0 }
            if same { return column.append(code: entry.code) }
        }
        let code = column.code(of: String(decoding: raw, as: UTF8.self))
        if recent.count < 64 { recent.append((Array(raw), code)) }
        column.append(code: code)
    }

    /// Appends a cell's text; no cell (SQL NULL) is missing.
    mutating func append(_ buffer: ByteBuffer?) {
        guard let buffer else { return appendMissing() }
        buffer.withUnsafeReadableBytes { append($0) }
    }

    /// Appends text that had to be made rather than read as it is (unescaped, say).
    mutating func append(_ text: String) {
        column.append(text)
    }

    mutating func appendMissing() {
        column.append(code: 0)
    }
}
