import Foundation

/// Rows of equal-length vectors (embeddings, or a table's numeric features) stored row-major as
/// 32-bit floats, the precision models emit embeddings in and the one the kernel loops vectorise.
public struct EmbeddingSample: Sendable, Equatable {
    /// How many rows.
    public let count: Int
    /// How many values a row has.
    public let dimension: Int
    /// `count × dimension` values, row after row.
    public let values: [Float]

    /// - Throws: ``StatisticsError`` when there are no rows, a row's length differs from
    ///   `dimension` (or the first row's), or a value is not finite (or too large for a float).
    public init(rows: [[Double]], dimension: Int? = nil) throws(StatisticsError) {
        guard let first = rows.first else { throw StatisticsError(.emptySample, "no rows") }
        let dimension = dimension ?? first.count
        guard dimension > 0 else { throw StatisticsError(.invalidParameter, "rows need at least one value") }
        var values: [Float] = []
        values.reserveCapacity(rows.count * dimension)
        for (index, row) in rows.enumerated() {
            guard row.count == dimension else {
                throw StatisticsError(.mismatchedLengths, "row \(index + 1) has \(row.count) values, not \(dimension)")
            }
            for value in row {
                let single = Float(value)
                guard value.isFinite, single.isFinite else { throw StatisticsError(.invalidParameter, "row \(index + 1) holds a value that is not a finite number") }
                values.append(single)
            }
        }
        self.init(count: rows.count, dimension: dimension, values: values)
    }

    init(count: Int, dimension: Int, values: [Float]) {
        self.count = count
        self.dimension = dimension
        self.values = values
    }

    /// Row `index` as doubles.
    public func row(_ index: Int) -> [Double] {
        values[index * dimension..<(index + 1) * dimension].map(Double.init)
    }

    /// At most `maximum` rows drawn without replacement by `seed` (all of them, in order, when
    /// there are no more than that).
    public func subsample(maximum: Int, seed: UInt64) -> EmbeddingSample {
        guard count > maximum, maximum > 0 else { return self }
        return rows(Self.draw(maximum, of: count, seed: seed).sorted())
    }

    /// The rows ``subsample(maximum:seed:)`` with the same seed and `other.count` left out.
    func complement(of other: EmbeddingSample, seed: UInt64) -> EmbeddingSample {
        guard count > other.count, other.count > 0 else { return self }
        let chosen = Set(Self.draw(other.count, of: count, seed: seed))
        return rows((0..<count).filter { !chosen.contains($0) })
    }

    /// `size` distinct indices of `0..<total`, drawn by `seed`.
    static func draw(_ size: Int, of total: Int, seed: UInt64) -> [Int] {
        var generator = SeededGenerator(seed: seed)
        var order = Array(0..<total)
        for index in 0..<size {
            order.swapAt(index, index + Int(generator.next() % UInt64(total - index)))
        }
        return Array(order[..<size])
    }

    private func rows(_ indices: [Int]) -> EmbeddingSample {
        var values: [Float] = []
        values.reserveCapacity(indices.count * dimension)
        for row in indices { values += self.values[row * dimension..<(row + 1) * dimension] }
        return EmbeddingSample(count: indices.count, dimension: dimension, values: values)
    }

    /// The rows of `self` followed by those of `other` (same dimension).
    func stacked(with other: EmbeddingSample) -> EmbeddingSample {
        EmbeddingSample(count: count + other.count, dimension: dimension, values: values + other.values)
    }
}

/// Vectorised loops over float rows.
enum FloatKernels {
    /// The dot product of two rows of `length` floats.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ length: Int) -> Float {
        var sum = SIMD16<Float>(repeating: 0)
        var index = 0
        while index + 16 <= length {
            let x = UnsafeRawPointer(a + index).loadUnaligned(as: SIMD16<Float>.self)
            let y = UnsafeRawPointer(b + index).loadUnaligned(as: SIMD16<Float>.self)
            sum += x * y
            index += 16
        }
        var total = sum.sum()
        while index < length {
            total += a[index] * b[index]
            index += 1
        }
        return total
    }

    /// The squared Euclidean distance between two rows of `length` floats.
    @inline(__always)
    static func squaredDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ length: Int) -> Float {
        var sum = SIMD16<Float>(repeating: 0)
        var index = 0
        while index + 16 <= length {
            let difference = UnsafeRawPointer(a + index).loadUnaligned(as: SIMD16<Float>.self) - UnsafeRawPointer(b + index).loadUnaligned(as: SIMD16<Float>.self)
            sum += difference * difference
            index += 16
        }
        var total = sum.sum()
        while index < length {
            let difference = a[index] - b[index]
            total += difference * difference
            index += 1
        }
        return total
    }

    /// `target[0..<length] += source[0..<length]`.
    @inline(__always)
    static func add(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, _ length: Int) {
        var index = 0
        while index + 16 <= length {
            let sum = UnsafeRawPointer(target + index).loadUnaligned(as: SIMD16<Float>.self) + UnsafeRawPointer(source + index).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(target + index).storeBytes(of: sum, as: SIMD16<Float>.self)
            index += 16
        }
        while index < length {
            target[index] += source[index]
            index += 1
        }
    }
}

extension EmbeddingSample: Codable {
    enum CodingKeys: String, CodingKey { case count, dimension, values }

    /// The values as base64 of their little-endian 32-bit patterns: a quarter of decimal text's size, exact.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(count, forKey: .count)
        try container.encode(dimension, forKey: .dimension)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for value in values {
            let bits = value.bitPattern.littleEndian
            for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
        }
        try container.encode(Data(bytes).base64EncodedString(), forKey: .values)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let count = try container.decode(Int.self, forKey: .count), dimension = try container.decode(Int.self, forKey: .dimension)
        guard let data = Data(base64Encoded: try container.decode(String.self, forKey: .values)), count >= 0, dimension >= 0,
              data.count == count * dimension * 4 else {
            throw DecodingError.dataCorruptedError(forKey: .values, in: container, debugDescription: "not \(count) × \(dimension) floats")
        }
        let bytes = [UInt8](data)
        let values = (0..<(count * dimension)).map { index in
            var bits: UInt32 = 0
            for offset in 0..<4 { bits |= UInt32(bytes[index * 4 + offset]) << UInt32(offset * 8) }
            return Float(bitPattern: bits)
        }
        self.init(count: count, dimension: dimension, values: values)
    }
}

extension EmbeddingSample {
    /// The rows of `values` (`dimension` floats a row) that hold no NaN, at most `maximum` of
    /// them drawn by `seed` (see ``subsample(maximum:seed:)``); `nil` when no row is complete.
    public static func present(in values: [Float], dimension: Int, maximum: Int, seed: UInt64) -> EmbeddingSample? {
        guard dimension > 0 else { return nil }
        var kept: [Float] = []
        var count = 0
        for row in 0..<(values.count / dimension) {
            let slice = values[(row * dimension)..<((row + 1) * dimension)]
            guard !slice.contains(where: \.isNaN) else { continue }
            kept += slice
            count += 1
        }
        guard count > 0 else { return nil }
        return EmbeddingSample(count: count, dimension: dimension, values: kept).subsample(maximum: maximum, seed: seed)
    }
}
