/// A mergeable summary of one numeric column over one window.
///
/// Holds the count, missing count, mean and sum of squared deviations (merged with Chan, Golub &
/// LeVeque's pairwise update, so a merged profile's mean and variance equal those of the
/// concatenated data up to floating-point rounding), minimum and maximum, a ``QuantileSketch``,
/// and optionally a histogram on fixed edges. Hourly profiles merge into daily ones without
/// rereading rows.
///
/// ```swift
/// var hour1 = NumericProfile(edges: baselineBins.edges)
/// hour1.add(contentsOf: values)
/// let day = hour1.merged(with: hour2)
/// ```
public struct NumericProfile: Sendable, Equatable, Codable {
    /// Non-missing values.
    public private(set) var count = 0
    /// Missing values (NaN).
    public private(set) var missingCount = 0
    public private(set) var mean = 0.0
    /// Σ (x − mean)², the numerator of the variance.
    public private(set) var squaredDeviations = 0.0
    public private(set) var minimum = Double.infinity
    public private(set) var maximum = -Double.infinity
    public private(set) var sketch: QuantileSketch
    /// Fixed interior edges, bins [eᵢ, eᵢ₊₁) with open outer ends (as ``QuantileBins``); `nil` for no histogram.
    public let edges: [Double]?
    /// Counts per bin, `edges.count + 1` of them.
    public private(set) var histogram: [Int]?

    /// - Parameters:
    ///   - edges: strictly ascending interior histogram edges, typically a baseline's ``QuantileBins/edges``.
    ///   - sketchK: the quantile sketch's accuracy parameter.
    public init(edges: [Double]? = nil, sketchK: Int = 200) {
        self.edges = edges
        histogram = edges.map { [Int](repeating: 0, count: $0.count + 1) }
        sketch = QuantileSketch(k: sketchK)
    }

    /// Population variance (ddof = 0), as `numpy.var`; `nil` when empty.
    public var variance: Double? { count > 0 ? squaredDeviations / Double(count) : nil }
    /// Sample variance (ddof = 1); `nil` below two values.
    public var sampleVariance: Double? { count > 1 ? squaredDeviations / Double(count - 1) : nil }
    public var standardDeviation: Double? { variance?.squareRoot() }
    /// Share of rows that are missing.
    public var missingRate: Double { count + missingCount > 0 ? Double(missingCount) / Double(count + missingCount) : 0 }

    public mutating func add(_ value: Double) {
        add(contentsOf: CollectionOfOne(value))
    }

    /// Adds a batch: a two-pass mean and deviation sum for the batch, then one pairwise merge.
    public mutating func add<Values: Collection>(contentsOf values: Values) where Values.Element == Double {
        // Generic code is not specialised across modules; one copy into an array keeps the loops concrete.
        add(batch: Array(values))
    }

    private mutating func add(batch values: [Double]) {
        var batchCount = 0
        var sum = KahanSum()
        var low = Double.infinity, high = -Double.infinity
        for value in values where !value.isNaN {
            batchCount += 1
            sum.add(value)
            if value < low { low = value }
            if value > high { high = value }
        }
        missingCount += values.count - batchCount
        guard batchCount > 0 else { return }
        let batchMean = sum.value / Double(batchCount)
        var deviations = KahanSum()
        for value in values where !value.isNaN {
            deviations.add((value - batchMean) * (value - batchMean))
        }
        sketch.add(batch: values)
        if let edges {
            var counts = histogram!
            for value in values where !value.isNaN { counts[edges.upperBound(value)] += 1 }
            histogram = counts
        }
        combineMoments(count: batchCount, mean: batchMean, squaredDeviations: deviations.value)
        minimum = min(minimum, low)
        maximum = max(maximum, high)
    }

    /// The profile of the union of both windows.
    ///
    /// - Precondition: both profiles use the same histogram edges.
    public func merged(with other: NumericProfile) -> NumericProfile {
        precondition(edges == other.edges, "merging numeric profiles with different histogram edges")
        var result = self
        result.missingCount += other.missingCount
        guard other.count > 0 else { return result }
        result.combineMoments(count: other.count, mean: other.mean, squaredDeviations: other.squaredDeviations)
        result.minimum = min(minimum, other.minimum)
        result.maximum = max(maximum, other.maximum)
        result.sketch.merge(other.sketch)
        if let otherHistogram = other.histogram {
            result.histogram = zip(result.histogram!, otherHistogram).map(+)
        }
        return result
    }

    private mutating func combineMoments(count otherCount: Int, mean otherMean: Double, squaredDeviations otherDeviations: Double) {
        let total = count + otherCount
        let delta = otherMean - mean
        let weight = Double(otherCount) / Double(total)
        mean = count == 0 ? otherMean : mean + delta * weight
        squaredDeviations += otherDeviations + delta * delta * Double(count) * weight
        count = total
    }
}

extension NumericProfile {
    /// Profiles a sample with a histogram on its own quantile bins, as a profile that may later
    /// serve as a reference needs (PSI and the other binned methods bin at the reference's quantiles).
    public static func profiling(_ sample: SortedSample, binCount: Int = 10, sketchK: Int = 200) -> NumericProfile {
        var profile = NumericProfile(edges: sample.count > 0 ? QuantileBins(reference: sample, binCount: binCount).edges : [], sketchK: sketchK)
        profile.add(contentsOf: sample.values)
        profile.missingCount = sample.missingCount
        return profile
    }

    /// This profile with its histogram recounted on `edges`, from the sample it was made of:
    /// the form to compare with a reference profile binned on `edges`.
    public func rebinned(on edges: [Double], from sample: SortedSample) -> NumericProfile {
        var copy = NumericProfile(edges: edges, sketchK: sketch.k)
        copy.count = count
        copy.missingCount = missingCount
        copy.mean = mean
        copy.squaredDeviations = squaredDeviations
        copy.minimum = minimum
        copy.maximum = maximum
        copy.sketch = sketch
        copy.histogram = QuantileBins(edges: edges).counts(sample)
        return copy
    }

    /// The profile of the union of both windows, whatever their histogram edges: moments, range
    /// and sketch merge exactly as in ``merged(with:)``; the histogram is kept only when both
    /// windows share their edges. This is how short windows roll up into long ones.
    public func combined(with other: NumericProfile) -> NumericProfile {
        if edges == other.edges { return merged(with: other) }
        return NumericProfile(stripping: self).merged(with: NumericProfile(stripping: other))
    }

    /// `profile` without its histogram.
    private init(stripping profile: NumericProfile) {
        self.init(edges: nil, sketchK: profile.sketch.k)
        count = profile.count
        missingCount = profile.missingCount
        mean = profile.mean
        squaredDeviations = profile.squaredDeviations
        minimum = profile.minimum
        maximum = profile.maximum
        sketch = profile.sketch
    }
}
