/// Sorts doubles (no NaN) in linear time: an LSD radix sort on their bit patterns, mapped so that
/// unsigned order is numeric order. A window's columns run to millions of values, where this is
/// several times faster than a comparison sort.
enum RadixSort {
    /// Below this many values the standard library's sort is as fast.
    static let threshold = 4_096

    static func sort(_ values: inout [Double]) {
        guard values.count >= threshold else {
            values.sort()
            return
        }
        let count = values.count
        var keys = [UInt64](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = key(values[index]) }
            initialized = count
        }
        var scratch = [UInt64](repeating: 0, count: count)
        var counts = [Int](repeating: 0, count: 1 << 16)
        for pass in 0..<4 {
            let shift = UInt64(pass * 16)
            keys.withUnsafeBufferPointer { source in
                scratch.withUnsafeMutableBufferPointer { target in
                    counts.withUnsafeMutableBufferPointer { counts in
                        for index in counts.indices { counts[index] = 0 }
                        for key in source { counts[Int((key >> shift) & 0xFFFF)] += 1 }
                        var total = 0
                        for index in counts.indices {
                            let bucket = counts[index]
                            counts[index] = total
                            total += bucket
                        }
                        for key in source {
                            let bucket = Int((key >> shift) & 0xFFFF)
                            target[counts[bucket]] = key
                            counts[bucket] += 1
                        }
                    }
                }
            }
            swap(&keys, &scratch)
        }
        values.withUnsafeMutableBufferPointer { output in
            for index in 0..<count { output[index] = value(keys[index]) }
        }
    }

    /// Negative numbers have every bit flipped, others only the sign bit.
    private static func key(_ value: Double) -> UInt64 {
        let bits = value.bitPattern
        return bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)
    }

    private static func value(_ key: UInt64) -> Double {
        Double(bitPattern: key & (1 << 63) != 0 ? key & ~(1 << 63) : ~key)
    }
}
