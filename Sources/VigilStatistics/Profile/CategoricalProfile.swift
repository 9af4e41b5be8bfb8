/// A mergeable summary of one categorical column over one window: each category's frequency.
///
/// To keep profiles of high-cardinality columns bounded, at most `maximumCategories` are kept;
/// past that the rarest are folded into ``otherCount`` (and drift tests on such a profile treat
/// them as one category, which ``isTruncated`` reports).
public struct CategoricalProfile: Sendable, Equatable, Codable {
    public private(set) var counts = CategoryCounts()
    /// Values of categories dropped for exceeding `maximumCategories`.
    public private(set) var otherCount = 0
    public let maximumCategories: Int

    public init(maximumCategories: Int = 1_000) {
        self.maximumCategories = maximumCategories
    }

    public var count: Int { counts.total + otherCount }
    public var missingCount: Int { counts.missingCount }
    public var distinctCount: Int { counts.counts.count }
    public var isTruncated: Bool { otherCount > 0 }

    public mutating func add(_ value: String?, count: Int = 1) {
        counts.add(value, count: count)
        if counts.counts.count > maximumCategories * 2 { truncate() }
    }

    /// The profile of the union of both windows.
    public func merged(with other: CategoricalProfile) -> CategoricalProfile {
        var result = self
        for (category, count) in other.counts.counts { result.counts.add(category, count: count) }
        result.counts.add(nil, count: other.counts.missingCount)
        result.otherCount += other.otherCount
        result.truncate()
        return result
    }

    /// The counts to compare, with dropped categories as one `"(other)"` category.
    public var comparableCounts: CategoryCounts {
        var result = counts
        if otherCount > 0 { result.add("(other)", count: otherCount) }
        return result
    }

    private mutating func truncate() {
        guard counts.counts.count > maximumCategories else { return }
        let ranked = counts.counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        var kept = CategoryCounts(counts: [:], missingCount: counts.missingCount)
        for (category, count) in ranked.prefix(maximumCategories) { kept.add(category, count: count) }
        otherCount += ranked.dropFirst(maximumCategories).reduce(0) { $0 + $1.value }
        counts = kept
    }
}
