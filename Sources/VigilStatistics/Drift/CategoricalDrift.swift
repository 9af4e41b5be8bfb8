import Foundation

/// Counts of a categorical column's values, with missing values counted apart.
public struct CategoryCounts: Sendable, Equatable, Codable {
    public private(set) var counts: [String: Int]
    public private(set) var missingCount: Int

    public init(counts: [String: Int] = [:], missingCount: Int = 0) {
        self.counts = counts
        self.missingCount = missingCount
    }

    /// Counts the values; `nil` is missing.
    public init<Values: Sequence>(_ values: Values) where Values.Element == String? {
        self.init()
        for value in values { add(value) }
    }

    public mutating func add(_ value: String?, count: Int = 1) {
        if let value { counts[value, default: 0] += count } else { missingCount += count }
    }

    /// Non-missing values.
    public var total: Int { counts.values.reduce(0, +) }
}

/// Drift tests between two categorical samples.
public enum CategoricalDrift {
    /// Compares `current` with `reference` by `method` over the union of their categories.
    ///
    /// Categories seen only in the current sample are compared as having share 0 in the
    /// reference (PSI and KL floor that at `epsilon`) and are listed in the result.
    /// - Throws: ``StatisticsError`` for empty or all-missing samples, or a numeric-only method.
    public static func compare(
        _ reference: CategoryCounts, _ current: CategoryCounts, method: DriftMethod,
        threshold: Double? = nil, epsilon: Double = 1e-4
    ) throws(StatisticsError) -> DriftResult {
        guard method.supportsCategorical else {
            throw StatisticsError(.invalidParameter, "\(method.rawValue) applies to numeric columns only")
        }
        try StatisticsError.checkUsable(
            reference: (reference.total, reference.missingCount), current: (current.total, current.missingCount)
        )
        let categories = Set(reference.counts.keys).union(current.counts.keys).sorted()
        let referenceCounts = categories.map { reference.counts[$0] ?? 0 }
        let currentCounts = categories.map { current.counts[$0] ?? 0 }
        let unseen = categories.filter { reference.counts[$0] == nil }
        let threshold = threshold ?? method.defaultThreshold
        let q = Distribution.proportions(referenceCounts)
        let p = Distribution.proportions(currentCounts)
        var pValue: Double?
        var parameters: [String: Double] = ["categories": Double(categories.count)]
        let score: Double
        switch method {
        case .chiSquare:
            let test = chiSquareHomogeneity(referenceCounts, currentCounts)
            score = test.statistic
            pValue = test.pValue
            parameters["dof"] = Double(test.degreesOfFreedom)
            parameters["yates"] = test.degreesOfFreedom == 1 ? 1 : 0
        case .zTest:
            guard categories.count <= 2 else {
                throw StatisticsError(.invalidParameter, "the Z-test needs a binary column, found \(categories.count) categories")
            }
            let test = proportionZTest(
                reference: referenceCounts.first ?? 0, referenceTotal: reference.total,
                current: currentCounts.first ?? 0, currentTotal: current.total
            )
            score = test.statistic
            pValue = test.pValue
        case .psi:
            score = Distribution.populationStabilityIndex(p, q, epsilon: epsilon)
            parameters["epsilon"] = epsilon
        case .kl:
            score = Distribution.kullbackLeibler(p, q, epsilon: epsilon)
            parameters["epsilon"] = epsilon
        case .jensenShannon: score = Distribution.jensenShannon(p, q)
        case .hellinger: score = Distribution.hellinger(p, q)
        case .totalVariation: score = Distribution.totalVariation(p, q)
        case .lInfinity: score = Distribution.lInfinity(p, q)
        case .ks, .wasserstein, .normedWasserstein:
            throw StatisticsError(.invalidParameter, "\(method.rawValue) applies to numeric columns only")
        case .mmd, .domainClassifier, .meanDistance, .projectedKS:
            throw StatisticsError(.invalidParameter, "\(method.rawValue) applies to embedding columns only")
        }
        return DriftResult(
            method: method, score: score, pValue: pValue, threshold: threshold,
            referenceCount: reference.total, currentCount: current.total,
            referenceMissing: reference.missingCount, currentMissing: current.missingCount,
            parameters: parameters, unseenCategories: unseen
        )
    }

    /// Chi-square test of homogeneity on the 2×k table [reference; current], as
    /// `scipy.stats.chi2_contingency` with its default Yates correction when dof = 1.
    static func chiSquareHomogeneity(_ reference: [Int], _ current: [Int]) -> (statistic: Double, pValue: Double, degreesOfFreedom: Int) {
        let k = reference.count
        let degrees = k - 1
        guard degrees > 0 else { return (0, 1, 0) }
        let rowTotals = [Double(reference.reduce(0, +)), Double(current.reduce(0, +))]
        let total = rowTotals[0] + rowTotals[1]
        var statistic = KahanSum()
        for (row, counts) in [reference, current].enumerated() {
            for column in 0..<k {
                let columnTotal = Double(reference[column] + current[column])
                let expected = rowTotals[row] * columnTotal / total
                var observed = Double(counts[column])
                if degrees == 1 {
                    let difference = expected - observed
                    observed += min(0.5, abs(difference)) * (difference > 0 ? 1 : difference < 0 ? -1 : 0)
                }
                statistic.add((observed - expected) * (observed - expected) / expected)
            }
        }
        let value = statistic.value
        return (value, SpecialFunctions.chiSquareSurvival(value, degrees: Double(degrees)), degrees)
    }

    /// Pooled two-proportion Z-test, two-sided.
    static func proportionZTest(reference: Int, referenceTotal: Int, current: Int, currentTotal: Int) -> (statistic: Double, pValue: Double) {
        let n1 = Double(referenceTotal), n2 = Double(currentTotal)
        let p1 = Double(reference) / n1, p2 = Double(current) / n2
        let pooled = Double(reference + current) / (n1 + n2)
        let standardError = (pooled * (1 - pooled) * (1 / n1 + 1 / n2)).squareRoot()
        guard standardError > 0 else { return (0, 1) }
        let z = (p2 - p1) / standardError
        return (z, min(1, 2 * SpecialFunctions.normalSurvival(abs(z))))
    }
}
