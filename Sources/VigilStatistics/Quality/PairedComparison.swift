import Foundation

/// Two models judged on the same rows: significance tests on the paired outcomes and a bootstrap
/// confidence interval for the difference of any metric.
public enum PairedComparison {
    /// McNemar's test: of the rows exactly one model got right, does either win more often than
    /// chance? Exact two-sided binomial test on the discordant pairs (as SciPy's
    /// `binomtest(b, b + c, 0.5)` and statsmodels' `mcnemar(exact=True)`).
    ///
    /// - Returns: `b` (only the first model right), `c` (only the second right) and the p-value
    ///   (1 when there are no discordant pairs).
    public static func mcNemar(firstCorrect: [Bool], secondCorrect: [Bool]) throws(StatisticsError) -> (b: Int, c: Int, pValue: Double) {
        try StatisticsError.checkPaired(firstCorrect.count, secondCorrect.count)
        var b = 0, c = 0
        for (first, second) in zip(firstCorrect, secondCorrect) where first != second {
            if first { b += 1 } else { c += 1 }
        }
        let n = b + c
        guard n > 0 else { return (b, c, 1) }
        return (b, c, min(1, 2 * SpecialFunctions.binomialHalfCDF(min(b, c), n)))
    }

    /// Paired t-test of `differences` against zero (as SciPy's `ttest_rel` on the two samples).
    ///
    /// - Returns: the t statistic and its two-sided p-value; with no variance, p is 1 when the
    ///   mean difference is 0 and 0 otherwise.
    public static func pairedT(differences: [Double]) throws(StatisticsError) -> (t: Double, pValue: Double) {
        guard differences.count >= 2 else { throw StatisticsError(.emptySample, "a paired t-test needs at least 2 pairs") }
        let n = Double(differences.count)
        let mean = differences.reduce(0, +) / n
        let variance = differences.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        guard variance > 0 else { return (mean == 0 ? 0 : (mean > 0 ? .infinity : -.infinity), mean == 0 ? 1 : 0) }
        let t = mean / (variance / n).squareRoot()
        return (t, SpecialFunctions.studentTTwoSided(t, degrees: n - 1))
    }

    /// A percentile bootstrap interval for a paired statistic: rows are resampled with
    /// replacement (the same rows for both models), `statistic` is computed on each resample.
    ///
    /// - Parameters:
    ///   - count: the number of paired rows.
    ///   - confidence: for example 0.95.
    ///   - statistic: the difference of interest, computed from the resampled row indices.
    public static func bootstrapInterval(
        count: Int, resamples: Int = 1_000, confidence: Double = 0.95, seed: UInt64 = 1, statistic: ([Int]) -> Double
    ) throws(StatisticsError) -> (low: Double, high: Double) {
        guard count > 0 else { throw StatisticsError(.emptySample, "a bootstrap needs at least one row") }
        guard resamples >= 10, confidence > 0, confidence < 1 else {
            throw StatisticsError(.invalidParameter, "a bootstrap needs at least 10 resamples and a confidence between 0 and 1")
        }
        var generator = SeededGenerator(seed: seed)
        var values: [Double] = []
        values.reserveCapacity(resamples)
        var indices = [Int](repeating: 0, count: count)
        for _ in 0..<resamples {
            for position in 0..<count { indices[position] = Int(generator.next() % UInt64(count)) }
            let value = statistic(indices)
            if value.isFinite { values.append(value) }
        }
        guard !values.isEmpty else { throw StatisticsError(.allMissing, "the statistic was not finite on any resample") }
        values.sort()
        let tail = (1 - confidence) / 2
        func quantile(_ q: Double) -> Double {
            let position = q * Double(values.count - 1)
            let lower = Int(position.rounded(.down)), upper = min(values.count - 1, lower + 1)
            return values[lower] + (values[upper] - values[lower]) * (position - Double(lower))
        }
        return (quantile(tail), quantile(1 - tail))
    }
}
