/// "Failing Loudly" (Rabanser, Günnemann & Lipton, 2019): project both samples on the reference's
/// leading principal components, test each coordinate with the two-sample Kolmogorov–Smirnov
/// test, and combine by Bonferroni: `p = min(1, k · min pᵢ)`.
///
/// The components are fitted on half the reference (drawn by the seed) and the other half is
/// what the current rows are compared with: rows a projection was fitted on have more variance
/// along it than new rows from the same distribution, most of all in many dimensions, and
/// testing them would flag drift that is not there.
public enum ProjectedKolmogorovSmirnov {
    /// The test's outcome.
    public struct Result: Sendable, Equatable {
        /// The Bonferroni-corrected p-value.
        public let pValue: Double
        /// Each component's KS statistic and (uncorrected) p-value, by decreasing variance.
        public let statistics: [Double]
        public let componentPValues: [Double]
        /// The share of the reference's variance the components hold.
        public let explainedVariance: Double
    }

    /// - Parameter components: how many principal components (at most the dimension; default 32).
    /// - Throws: ``StatisticsError`` when a side has fewer than two rows or the dimensions differ.
    public static func test(_ reference: EmbeddingSample, _ current: EmbeddingSample, components: Int = 32, seed: UInt64 = 0) throws(StatisticsError) -> Result {
        guard reference.dimension == current.dimension else {
            throw StatisticsError(.mismatchedLengths, "reference rows have \(reference.dimension) values, current rows \(current.dimension)")
        }
        guard current.count >= 2, reference.count >= 4 else { throw StatisticsError(.emptySample, "at least four reference rows and two current ones") }
        let fitting = reference.subsample(maximum: reference.count / 2, seed: seed)
        let held = reference.complement(of: fitting, seed: seed)
        let pca = try PrincipalComponents(fitting: fitting, count: components, seed: seed)
        let left = pca.project(held), right = pca.project(current)
        var statistics: [Double] = [], pValues: [Double] = []
        for (a, b) in zip(left, right) {
            let result = KolmogorovSmirnov.test(try SortedSample(a), try SortedSample(b))
            statistics.append(result.statistic)
            pValues.append(result.pValue)
        }
        let explained = pca.totalVariance > 0 ? pca.variances.reduce(0, +) / pca.totalVariance : 1
        return Result(pValue: min(1, Double(pValues.count) * (pValues.min() ?? 1)), statistics: statistics, componentPValues: pValues,
                      explainedVariance: explained)
    }
}
