/// A KLL quantile sketch (Karnin, Lang & Liberty, 2016): mergeable, of bounded size, with a
/// rank error that does not depend on the number of values.
///
/// Values are kept in a stack of compactors; level h holds items of weight 2ʰ. When the sketch
/// is over capacity the lowest full level is sorted and every other item (from a random offset)
/// moves up a level with twice the weight. Capacities shrink by 2/3 per level below the top, so
/// the sketch holds O(k) items.
///
/// **Error bound.** With the default `k = 200`, a rank query `rank(x)` is within
/// ``rankErrorBound`` (1.65 % of the count) of the true rank with 99 % confidence — the figure
/// Apache DataSketches publishes for its KLL sketch at k = 200 — and the bound holds after any
/// number of merges. The coin flips come from a seeded generator stored in the sketch, so the
/// same values in the same order always give the same sketch.
public struct QuantileSketch: Sendable, Equatable, Codable {
    /// Accuracy parameter: the capacity of the top compactor.
    public let k: Int
    /// The number of values summarised.
    public private(set) var count = 0
    public private(set) var minimum = Double.infinity
    public private(set) var maximum = -Double.infinity
    /// `levels[h]` holds the items of weight 2ʰ; level 0 is unsorted.
    private var levels: [[Double]] = [[]]
    private var random: SeededGenerator
    /// Derived from `k` and the number of levels; kept so `add` stays O(1).
    private var capacities: [Int] = []
    private var totalCapacity = 0
    /// The number of items held across all levels.
    public private(set) var retainedCount = 0

    private enum CodingKeys: String, CodingKey {
        case k, count, minimum, maximum, levels, random
    }

    private static let minimumCapacity = 8

    public init(k: Int = 200, seed: UInt64 = 0x5EED) {
        precondition(k >= QuantileSketch.minimumCapacity, "k must be at least 8")
        self.k = k
        random = SeededGenerator(seed: seed)
        updateCapacities()
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        k = try container.decode(Int.self, forKey: .k)
        guard k >= Self.minimumCapacity else {
            throw DecodingError.dataCorruptedError(forKey: .k, in: container, debugDescription: "k must be at least 8")
        }
        count = try container.decode(Int.self, forKey: .count)
        minimum = try container.decode(Double.self, forKey: .minimum)
        maximum = try container.decode(Double.self, forKey: .maximum)
        levels = try container.decode([[Double]].self, forKey: .levels)
        random = try container.decode(SeededGenerator.self, forKey: .random)
        if levels.isEmpty { levels = [[]] }
        for level in 1..<levels.count { levels[level].sort() }
        retainedCount = levels.reduce(0) { $0 + $1.count }
        updateCapacities()
    }

    /// The normalised rank error at 99 % confidence, ≈ 1.65 % for k = 200 (scales as 1/k).
    public var rankErrorBound: Double { 1.65 / 100 * 200 / Double(k) }

    public var isEmpty: Bool { count == 0 }

    public mutating func add(_ value: Double) {
        guard !value.isNaN else { return }
        levels[0].append(value)
        count += 1
        retainedCount += 1
        if value < minimum { minimum = value }
        if value > maximum { maximum = value }
        if retainedCount >= totalCapacity { compressIfNeeded() }
    }

    public mutating func add<Values: Sequence>(contentsOf values: Values) where Values.Element == Double {
        add(batch: Array(values))
    }

    /// Adds values a level-0 buffer at a time, compressing between chunks.
    mutating func add(batch values: [Double]) {
        var index = 0
        while index < values.count {
            let room = max(1, totalCapacity - retainedCount)
            let end = min(values.count, index + room)
            var level0 = levels[0]
            levels[0] = []
            let before = level0.count
            for value in values[index..<end] where !value.isNaN {
                level0.append(value)
                if value < minimum { minimum = value }
                if value > maximum { maximum = value }
            }
            count += level0.count - before
            retainedCount += level0.count - before
            levels[0] = level0
            index = end
            if retainedCount >= totalCapacity { compressIfNeeded() }
        }
    }

    /// Folds `other` in, giving the sketch of the union of both inputs.
    public mutating func merge(_ other: QuantileSketch) {
        precondition(k == other.k, "merging sketches of different k")
        guard !other.isEmpty else { return }
        while levels.count < other.levels.count { levels.append([]) }
        for (level, items) in other.levels.enumerated() {
            levels[level] = level == 0 ? levels[0] + items : levels[level].mergedSorted(with: items)
        }
        updateCapacities()
        retainedCount += other.retainedCount
        count += other.count
        minimum = min(minimum, other.minimum)
        maximum = max(maximum, other.maximum)
        random = SeededGenerator(seed: random.state ^ other.random.state.rotatedLeft(by: 17))
        compressIfNeeded()
    }

    /// The estimated number of values `<= value`.
    public func rank(_ value: Double) -> Double {
        var rank = 0.0
        for (level, items) in levels.enumerated() {
            let weight = Double(1 << level)
            if level == 0 {
                rank += weight * Double(items.reduce(0) { $0 + ($1 <= value ? 1 : 0) })
            } else {
                rank += weight * Double(items.upperBound(value))
            }
        }
        return rank
    }

    /// The estimated CDF at `value`, in [0, 1].
    public func cdf(_ value: Double) -> Double {
        count == 0 ? 0 : min(1, rank(value) / Double(count))
    }

    /// The smallest retained value whose estimated CDF reaches `p` (`p` in [0, 1]); `nil` when empty.
    public func quantile(_ p: Double) -> Double? {
        guard count > 0 else { return nil }
        if p <= 0 { return minimum }
        if p >= 1 { return maximum }
        let items = weightedItems()
        let target = p * Double(count)
        var cumulative = 0.0
        for item in items {
            cumulative += item.weight
            if cumulative >= target { return item.value }
        }
        return maximum
    }

    /// Every retained item with its weight, ascending by value.
    public func weightedItems() -> [(value: Double, weight: Double)] {
        var items: [(value: Double, weight: Double)] = []
        for (level, values) in levels.enumerated() {
            let weight = Double(1 << level)
            for value in values { items.append((value, weight)) }
        }
        items.sort { $0.value < $1.value }
        return items
    }

    private mutating func updateCapacities() {
        capacities = (0..<levels.count).map { level in
            var capacity = Double(k)
            for _ in 0..<(levels.count - 1 - level) { capacity *= 2.0 / 3.0 }
            return max(Self.minimumCapacity, Int(capacity.rounded(.up)))
        }
        totalCapacity = capacities.reduce(0, +)
    }

    private mutating func compressIfNeeded() {
        while retainedCount >= totalCapacity {
            guard let level = levels.indices.first(where: { levels[$0].count >= capacities[$0] }) else { return }
            compact(level)
        }
    }

    /// Halves `level`: every other item of its sorted contents moves up, with double weight.
    private mutating func compact(_ level: Int) {
        if level + 1 == levels.count {
            levels.append([])
            updateCapacities()
        }
        var items = levels[level]
        if level == 0 { items.sort() }
        // An odd item out stays behind so no weight is lost.
        var kept: [Double] = []
        if items.count % 2 == 1 { kept.append(items.removeLast()) }
        let offset = Int(random.next() & 1)
        var promoted: [Double] = []
        promoted.reserveCapacity(items.count / 2)
        for index in stride(from: offset, to: items.count, by: 2) { promoted.append(items[index]) }
        retainedCount -= items.count - promoted.count
        levels[level] = kept
        levels[level + 1] = levels[level + 1].mergedSorted(with: promoted)
    }
}

extension UInt64 {
    func rotatedLeft(by bits: UInt64) -> UInt64 { (self << bits) | (self >> (64 - bits)) }
}

extension Array where Element == Double {
    /// The number of elements `<= value` in this ascending array.
    func upperBound(_ value: Double) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if self[middle] <= value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// This ascending array merged with another ascending array.
    func mergedSorted(with other: [Double]) -> [Double] {
        if isEmpty { return other }
        if other.isEmpty { return self }
        var result: [Double] = []
        result.reserveCapacity(count + other.count)
        var i = 0, j = 0
        while i < count && j < other.count {
            if self[i] <= other[j] { result.append(self[i]); i += 1 } else { result.append(other[j]); j += 1 }
        }
        result.append(contentsOf: self[i...])
        result.append(contentsOf: other[j...])
        return result
    }
}
