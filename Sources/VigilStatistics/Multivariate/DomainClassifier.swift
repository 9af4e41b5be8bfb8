import Foundation

/// The domain-classifier drift test: a classifier learns to tell reference rows from current
/// ones. If it can do better than chance on rows it did not learn from, the two differ, and what
/// it relies on says where.
///
/// The classifier is ``GradientBoostedTrees`` (squared loss on the 0/1 domain, as NannyML's
/// domain classifier uses LightGBM). It is fitted in `folds` stratified folds drawn by the seed,
/// and each row is scored by the model that did not see it. The statistic is the ROC AUC of those
/// held-out scores; its p-value is the one-sided Mann–Whitney test that the AUC exceeds 0.5
/// (normal approximation with the correction for ties). Importances are each feature's share of
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
        var scores = [Double](repeating: 0, count: n + m)
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
        for fit in fits {
            for (row, score) in zip(fit.rows, fit.scores) { scores[row] = score }
            for (feature, gain) in fit.gains.enumerated() { importances[feature] += gain }
        }
        let totalGain = importances.reduce(0, +)
        let (auc, pValue) = mannWhitney(scores: scores, positives: n..<(n + m))
        return Result(auc: auc, pValue: pValue, importances: importances.map { totalGain > 0 ? $0 / totalGain : 0 }, folds: folds)
    }

    /// The AUC of `scores` for rows in `positives` against the rest, and the one-sided p-value
    /// that it exceeds 0.5 (normal approximation, tie-corrected).
    static func mannWhitney(scores: [Double], positives: Range<Int>) -> (auc: Double, pValue: Double) {
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
        let auc = u / (n1 * n0)
        let count = Double(total)
        let variance = n1 * n0 / 12 * ((count + 1) - ties / (count * (count - 1)))
        guard variance > 0 else { return (auc, 1) }
        let z = (u - n1 * n0 / 2) / variance.squareRoot()
        return (auc, SpecialFunctions.normalSurvival(z))
    }
}
