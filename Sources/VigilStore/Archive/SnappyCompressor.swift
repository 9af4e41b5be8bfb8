/// Compresses bytes in Snappy's raw format (the format Parquet's SNAPPY codec stores; see
/// google/snappy's `format_description.txt`): the uncompressed length as a varint, then literals
/// and back-references (copies) within 64 KiB blocks, found by hashing 4-byte sequences.
///
/// It favours speed over ratio as Snappy does: a greedy match per position, one hash table slot
/// per hash. Any Snappy decoder reads its output.
enum SnappyCompressor {
    /// Snappy's block: a copy never reaches back past the start of the block it is in.
    private static let blockSize = 65_536
    private static let hashBits = 14

    /// `input` compressed.
    static func compress(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(32 + input.count + input.count / 6)
        var length = UInt64(input.count)
        while length >= 0x80 {
            output.append(UInt8(truncatingIfNeeded: length) | 0x80)
            length >>= 7
        }
        output.append(UInt8(length))
        input.withUnsafeBufferPointer { bytes in
            var table = [Int32](repeating: -1, count: 1 << hashBits)
            var start = 0
            while start < bytes.count {
                let end = min(start + blockSize, bytes.count)
                for slot in table.indices { table[slot] = -1 }
                compressBlock(bytes, from: start, to: end, table: &table, into: &output)
                start = end
            }
        }
        return output
    }

    private static func compressBlock(
        _ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, table: inout [Int32], into output: inout [UInt8]
    ) {
        guard let base = bytes.baseAddress else { return }
        func word(_ position: Int) -> UInt32 { UnsafeRawPointer(base + position).loadUnaligned(as: UInt32.self) }
        var pending = start, position = start
        while position + 4 <= end {
            let value = word(position)
            let slot = Int((value &* 0x1E35_A7BD) >> UInt32(32 - hashBits))
            let candidate = Int(table[slot])
            table[slot] = Int32(position - start)
            guard candidate >= 0, word(start + candidate) == value else {
                position += 1
                continue
            }
            let source = start + candidate
            var length = 4
            while position + length < end, base[source + length] == base[position + length] { length += 1 }
            literal(bytes, from: pending, to: position, into: &output)
            copy(offset: position - source, length: length, into: &output)
            position += length
            pending = position
        }
        literal(bytes, from: pending, to: end, into: &output)
    }

    /// A literal of `bytes[from..<to]`: its length less one in the tag, or in 1–4 bytes after it.
    private static func literal(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, to: Int, into output: inout [UInt8]) {
        guard to > from else { return }
        let stored = to - from - 1
        if stored < 60 {
            output.append(UInt8(stored << 2))
        } else {
            let width = stored < 1 << 8 ? 1 : stored < 1 << 16 ? 2 : stored < 1 << 24 ? 3 : 4
            output.append(UInt8((59 + width) << 2))
            for index in 0..<width { output.append(UInt8(truncatingIfNeeded: stored >> (8 * index))) }
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[from..<to]))
    }

    /// Copies of `length` bytes from `offset` back (under 64 KiB), at most 64 bytes each.
    private static func copy(offset: Int, length: Int, into output: inout [UInt8]) {
        var remaining = length
        // Pieces of 64, leaving at least 4 for the last so it can be a copy too.
        while remaining >= 68 {
            twoByteOffsetCopy(offset: offset, length: 64, into: &output)
            remaining -= 64
        }
        if remaining > 64 {
            twoByteOffsetCopy(offset: offset, length: 60, into: &output)
            remaining -= 60
        }
        if remaining < 12, offset < 2_048 {
            output.append(UInt8(((offset >> 8) << 5) | ((remaining - 4) << 2) | 1))
            output.append(UInt8(truncatingIfNeeded: offset))
        } else {
            twoByteOffsetCopy(offset: offset, length: remaining, into: &output)
        }
    }

    private static func twoByteOffsetCopy(offset: Int, length: Int, into output: inout [UInt8]) {
        output.append(UInt8(((length - 1) << 2) | 2))
        output.append(UInt8(truncatingIfNeeded: offset))
        output.append(UInt8(truncatingIfNeeded: offset >> 8))
    }
}
