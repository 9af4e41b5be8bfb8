/// A numeric sample with missing values (NaN) removed and the rest sorted ascending.
///
/// Sorting once and sharing the result is what makes running KS, PSI, Jensen–Shannon and
/// Wasserstein on the same pair of samples cheap: each is then a linear merge.
public struct SortedSample: Sendable, Equatable {
    /// The non-missing values, ascending.
    public let values: [Double]
    /// How many values were missing (NaN) and left out.
    public let missingCount: Int

    /// - Throws: ``StatisticsError`` `.emptySample` for no values, `.allMissing` when every value is NaN.
    public init<Values: Sequence>(_ values: Values, name: String = "sample") throws(StatisticsError) where Values.Element == Double {
        // Generic code is not specialised across modules; one copy into an array keeps the loop concrete.
        try self.init(array: Array(values), name: name)
    }

    private init(array values: [Double], name: String) throws(StatisticsError) {
        var kept: [Double] = []
        kept.reserveCapacity(values.underestimatedCount)
        var missing = 0
        for value in values {
            if value.isNaN { missing += 1 } else { kept.append(value) }
        }
        guard !kept.isEmpty else { throw StatisticsError.unusable(name, missing: missing) }
        RadixSort.sort(&kept)
        self.values = kept
        self.missingCount = missing
    }

    public var count: Int { values.count }
    public var minimum: Double { values[0] }
    public var maximum: Double { values[values.count - 1] }

    /// The arithmetic mean, summed pairwise-stably (Kahan).
    public var mean: Double { KahanSum(values).value / Double(count) }

    /// Population standard deviation (ddof = 0), as `numpy.std`.
    public var standardDeviation: Double {
        let mean = self.mean
        var sum = KahanSum()
        for value in values { sum.add((value - mean) * (value - mean)) }
        return (sum.value / Double(count)).squareRoot()
    }

    /// The `p`-quantile with linear interpolation between order statistics (`numpy.quantile`'s
    /// default), interpolating from the nearer neighbour as NumPy does, so edges agree to the bit.
    public func quantile(_ p: Double) -> Double {
        let position = p * Double(count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, count - 1)
        let fraction = position - Double(lower)
        let a = values[lower], b = values[upper]
        let difference = b - a
        return fraction >= 0.5 ? b - difference * (1 - fraction) : a + difference * fraction
    }

    /// How many values are `<= value` (binary search).
    public func countNotAbove(_ value: Double) -> Int {
        var low = 0, high = values.count
        while low < high {
            let middle = (low + high) / 2
            if values[middle] <= value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// How many values are `< value` (binary search).
    public func countBelow(_ value: Double) -> Int {
        var low = 0, high = values.count
        while low < high {
            let middle = (low + high) / 2
            if values[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Whether every value is the same.
    public var isConstant: Bool { minimum == maximum }

    /// The number of distinct values.
    public var distinctCount: Int {
        var distinct = 1
        for index in 1..<values.count where values[index] != values[index - 1] { distinct += 1 }
        return distinct
    }
}

/// Compensated (Kahan–Babuška) summation, so long sums of metrics stay exact to the last digits.
public struct KahanSum: Sendable {
    public private(set) var sum = 0.0
    private var compensation = 0.0

    public init() {}

    public init<Values: Sequence>(_ values: Values) where Values.Element == Double {
        for value in values { add(value) }
    }

    public mutating func add(_ value: Double) {
        let total = sum + value
        if abs(sum) >= abs(value) {
            compensation += (sum - total) + value
        } else {
            compensation += (value - total) + sum
        }
        sum = total
    }

    public var value: Double { sum + compensation }
}
