import Foundation

/// The domain-classifier drift test: a classifier learns to tell reference rows from current
/// ones. If it can do better than chance on rows it did not learn from, the two differ, and what
/// it relies on says where.
///
/// The classifier is ``GradientBoostedTrees`` (squared loss on the 0/1 domain, as NannyML's
/// domain classifier uses LightGBM). It is fitted in `folds` stratified folds drawn by the seed,
/// and each row is scored by the model that did not see it. The statistic is the ROC AUC of those
/// held-out scores within their folds (the folds' Mann–Whitney U summed over their pairs); its
/// p-value is van Elteren's stratified one-sided test that it exceeds 0.5 (normal approximation,
/// corrected for ties), each fold a stratum. Importances are each feature's share of
/// the folds' split gain.
public enum DomainClassifier {
    /// The test's outcome.
    public struct Result: Sendable, Equatable {
        /// Held-out ROC AUC: 0.5 when the windows cannot be told apart.
        public let auc: Double
        public let pValue: Double
        /// Each feature's share of the split gain, summing to 1 (all 0 when nothing was split).
        public let importances: [Double]
        public let folds: Int
    }

    /// Shallower and shorter than the standard ensemble: enough to find a difference, fast on hundreds of columns.
    public static let configuration = GradientBoostedTrees.Configuration(rounds: 50, learningRate: 0.1, leaves: 15, minimumLeafRows: 20, bins: 64)

    /// Tests embeddings or numeric rows.
    public static func test(_ reference: EmbeddingSample, _ current: EmbeddingSample, folds: Int = 5, seed: UInt64 = 0,
                            configuration: GradientBoostedTrees.Configuration = configuration) throws(StatisticsError) -> Result {
        guard reference.dimension == current.dimension else {
            throw StatisticsError(.mismatchedLengths, "reference rows have \(reference.dimension) values, current rows \(current.dimension)")
        }
        func columns(_ sample: EmbeddingSample) -> [[Double]] {
            (0..<sample.dimension).map { j in (0..<sample.count).map { Double(sample.values[$0 * sample.dimension + j]) } }
        }
        return try test(reference: columns(reference), current: columns(current), folds: folds, seed: seed, configuration: configuration)
    }

    /// Tests tables given as columns (the same features on both sides; NaN for a missing value).
    ///
    /// - Throws: ``StatisticsError`` when the sides have different columns, a side has fewer rows
    ///   than `folds`, or `folds` is below 2.
    public static func test(reference: [[Double]], current: [[Double]], folds: Int = 5, seed: UInt64 = 0,
                            configuration: GradientBoostedTrees.Configuration = configuration) throws(StatisticsError) -> Result {
        guard reference.count == current.count, !reference.isEmpty else {
            throw StatisticsError(.mismatchedLengths, "both sides need the same columns, at least one")
        }
        guard folds >= 2 else { throw StatisticsError(.invalidParameter, "at least two folds") }
        let n = reference[0].count, m = current[0].count
        guard reference.allSatisfy({ $0.count == n }), current.allSatisfy({ $0.count == m }) else {
            throw StatisticsError(.mismatchedLengths, "a side's columns differ in length")
        }
        guard n >= folds, m >= folds else { throw StatisticsError(.emptySample, "each side needs at least \(folds) rows") }
        let columns = zip(reference, current).map { $0 + $1 }
        let labels = [Double](repeating: 0, count: n) + [Double](repeating: 1, count: m)
        // Stratified folds: each side shuffled by the seed and dealt out in turn.
        var generator = SeededGenerator(seed: seed)
        var fold = [Int](repeating: 0, count: n + m)
        for side in [Array(0..<n), Array(n..<(n + m))] {
            var order = side
            for index in order.indices.dropLast() { order.swapAt(index, index + Int(generator.next() % UInt64(order.count - index))) }
            for (position, row) in order.enumerated() { fold[row] = position % folds }
        }
        var importances = [Double](repeating: 0, count: columns.count)
        let fits = try Parallel.map(folds) { held -> Swift.Result<(rows: [Int], scores: [Double], gains: [Double]), StatisticsError> in
            let training = (0..<(n + m)).filter { fold[$0] != held }, heldOut = (0..<(n + m)).filter { fold[$0] == held }
            do throws(StatisticsError) {
                let model = try GradientBoostedTrees(columns: columns.map { column in training.map { column[$0] } }, targets: training.map { labels[$0] },
                                                     configuration: configuration)
                return .success((heldOut, heldOut.map { row in model.predict(columns.map { $0[row] }) }, model.gainImportances))
            } catch {
                return .failure(error)
            }
        }.map { fit throws(StatisticsError) in try fit.get() }
        // Each fold's held-out rows are scored by one model, so only within a fold are the scores
        // exchangeable under no drift: the folds' rank statistics are summed (van Elteren's
        // stratified test). Pooling scores of five different models flagged 10% of unchanged pairs at 5%.
        var u = 0.0, pairs = 0.0, variance = 0.0
        for fit in fits {
            for (feature, gain) in fit.gains.enumerated() { importances[feature] += gain }
            let current = fit.rows.indices.filter { fit.rows[$0] >= n }
            let ordered = fit.rows.indices.filter { fit.rows[$0] < n } + current
            let fold = mannWhitney(scores: ordered.map { fit.scores[$0] }, positives: (ordered.count - current.count)..<ordered.count)
            u += fold.u
            pairs += fold.pairs
            variance += fold.variance
        }
        let totalGain = importances.reduce(0, +)
        let auc = pairs > 0 ? u / pairs : 0.5
        let pValue = variance > 0 ? SpecialFunctions.normalSurvival((u - pairs / 2) / variance.squareRoot()) : 1
        return Result(auc: auc, pValue: pValue, importances: importances.map { totalGain > 0 ? $0 / totalGain : 0 }, folds: folds)
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
