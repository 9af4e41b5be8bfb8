/// Sorts doubles (no NaN) in linear time, on their bit patterns mapped so that unsigned order is
/// numeric order. A window's columns run to millions of values, where this is several times
/// faster than a comparison sort.
///
/// The keys are made in the values' own storage and distributed in place by their top 16 bits
/// (sign, exponent and the mantissa's first bits: an American flag sort); each bucket is then
/// sorted by its lower 48 bits with an LSD radix sort whose scratch is the size of the largest
/// bucket only. So a 10M-value column costs little beside itself, not its size again.
enum RadixSort {
    /// Below this many values the standard library's sort is as fast.
    static let threshold = 4_096

    static func sort(_ values: inout [Double]) {
        guard values.count >= threshold else {
            values.sort()
            return
        }
        values.withUnsafeMutableBufferPointer { doubles in
            doubles.withMemoryRebound(to: UInt64.self) { keys in
                for index in keys.indices { keys[index] = key(keys[index]) }
                let bounds = distributeByTopBits(keys)
                var largest = 0
                for bucket in 0..<(bounds.count - 1) { largest = max(largest, bounds[bucket + 1] - bounds[bucket]) }
                var scratch = [UInt64](repeating: 0, count: largest >= threshold ? largest : 0)
                var counts = [Int](repeating: 0, count: 1 << 12)
                scratch.withUnsafeMutableBufferPointer { scratch in
                    counts.withUnsafeMutableBufferPointer { counts in
                        for bucket in 0..<(bounds.count - 1) where bounds[bucket + 1] - bounds[bucket] > 1 {
                            var slice = UnsafeMutableBufferPointer(rebasing: keys[bounds[bucket]..<bounds[bucket + 1]])
                            if slice.count < threshold {
                                slice.sort()
                            } else {
                                sortLowBits(slice, scratch: UnsafeMutableBufferPointer(rebasing: scratch[0..<slice.count]), counts: counts)
                            }
                        }
                    }
                }
                for index in keys.indices { keys[index] = bits(keys[index]) }
            }
        }
    }

    /// Moves each key into the run of keys sharing its top 16 bits, in place; returns where each
    /// of the 65,536 runs starts, and the end.
    private static func distributeByTopBits(_ keys: UnsafeMutableBufferPointer<UInt64>) -> [Int] {
        var bounds = [Int](repeating: 0, count: (1 << 16) + 1)
        for key in keys { bounds[Int(key >> 48) + 1] += 1 }
        for bucket in 1..<bounds.count { bounds[bucket] += bounds[bucket - 1] }
        var next = Array(bounds.dropLast())
        for bucket in 0..<(1 << 16) {
            while next[bucket] < bounds[bucket + 1] {
                // Carry the key found here to its own run, taking the key there, until one belongs here.
                var carried = keys[next[bucket]]
                var target = Int(carried >> 48)
                while target != bucket {
                    swap(&carried, &keys[next[target]])
                    next[target] += 1
                    target = Int(carried >> 48)
                }
                keys[next[bucket]] = carried
                next[bucket] += 1
            }
        }
        return bounds
    }

    /// Sorts keys that share their top 16 bits by the lower 48, in four passes of 12 bits through
    /// `scratch` (as large as `keys`); an even number of passes ends back in `keys`.
    private static func sortLowBits(
        _ keys: UnsafeMutableBufferPointer<UInt64>, scratch: UnsafeMutableBufferPointer<UInt64>, counts: UnsafeMutableBufferPointer<Int>
    ) {
        var source = keys, target = scratch
        for pass in 0..<4 {
            let shift = UInt64(pass * 12)
            for index in counts.indices { counts[index] = 0 }
            for key in source { counts[Int((key >> shift) & 0xFFF)] += 1 }
            var total = 0
            for index in counts.indices {
                let bucket = counts[index]
                counts[index] = total
                total += bucket
            }
            for key in source {
                let bucket = Int((key >> shift) & 0xFFF)
                target[counts[bucket]] = key
                counts[bucket] += 1
            }
            swap(&source, &target)
        }
    }

    /// A double's bits as a key whose unsigned order is numeric order: negative numbers have
    /// every bit flipped, others only the sign bit.
    private static func key(_ bits: UInt64) -> UInt64 {
        bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)
    }

    /// The double's bits back from its key.
    private static func bits(_ key: UInt64) -> UInt64 {
        key & (1 << 63) != 0 ? key & ~(1 << 63) : ~key
    }
}
