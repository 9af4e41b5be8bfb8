import Foundation

/// A binary classifier's labelled scores, split by the label's class and each sorted ascending:
/// all that its ROC AUC, log loss and calibration need, in 8 bytes a row.
///
/// These metrics do not depend on the rows' order, so a window of millions of labelled rows
/// keeps only its scores, split by class, rather than a label and a score per row; the split
/// scores are sorted once (radix), for the ROC AUC's linear merge.
///
/// The same split by the class the model *predicted* is what the CBPE estimate takes
/// (``ConfidenceBasedEstimation/estimate(calibration:predicted:)``); the metrics here then do
/// not apply.
public struct BinaryOutcomes: Sendable, Equatable {
    /// Scores of the rows labelled positive, ascending.
    public let positives: [Double]
    /// Scores of the other rows, ascending.
    public let negatives: [Double]

    /// - Throws: ``StatisticsError`` when a score is NaN, or there are no scores.
    public init(positives: consuming [Double], negatives: consuming [Double]) throws(StatisticsError) {
        guard !positives.isEmpty || !negatives.isEmpty else { throw StatisticsError(.emptySample, "no rows to evaluate") }
        guard !positives.contains(where: \.isNaN), !negatives.contains(where: \.isNaN) else {
            throw StatisticsError(.invalidParameter, "scores contain NaN")
        }
        // Sorted where they lie: the caller hands them over.
        RadixSort.sort(&positives)
        RadixSort.sort(&negatives)
        self.positives = positives
        self.negatives = negatives
    }

    /// Rows whose label is 1 are positive, the rest negative.
    ///
    /// - Throws: ``StatisticsError`` when lengths differ, the input is empty, or a score is NaN.
    public init(labels: [Int], scores: [Double]) throws(StatisticsError) {
        try StatisticsError.checkPaired(labels.count, scores.count)
        let positiveCount = labels.lazy.filter { $0 == 1 }.count
        var positives: [Double] = [], negatives: [Double] = []
        positives.reserveCapacity(positiveCount)
        negatives.reserveCapacity(labels.count - positiveCount)
        for (label, score) in zip(labels, scores) {
            if label == 1 { positives.append(score) } else { negatives.append(score) }
        }
        try self.init(positives: consume positives, negatives: consume negatives)
    }

    public var count: Int { positives.count + negatives.count }

    /// Whether every score lies in [0, 1], as a probability of the positive class must.
    public var areProbabilities: Bool {
        [positives, negatives].allSatisfy { scores in scores.first.map { $0 >= 0 } ?? true && scores.last.map { $0 <= 1 } ?? true }
    }

    /// Area under the ROC curve, as `sklearn.metrics.roc_auc_score`: trapezoids over the curve's
    /// points at distinct scores, so tied scores count half.
    ///
    /// Computed as that area's equal, the Mann–Whitney statistic: the share of (positive,
    /// negative) pairs in which the positive scores higher, ties counting half, by one merge of the
    /// two sorted classes, exactly in integers.
    ///
    /// - Throws: ``StatisticsError`` when only one class occurs.
    public func rocAUC() throws(StatisticsError) -> Double {
        guard !positives.isEmpty, !negatives.isEmpty else {
            throw StatisticsError(.invalidParameter, "both classes must occur (found only \(positives.isEmpty ? "negatives" : "positives"))")
        }
        // Twice the pairs won: 2 for each negative below a positive, 1 for each tie.
        var twiceWon = 0
        var below = 0, notAbove = 0
        for score in positives {
            while below < negatives.count && negatives[below] < score { below += 1 }
            notAbove = max(notAbove, below)
            while notAbove < negatives.count && negatives[notAbove] == score { notAbove += 1 }
            twiceWon += below + notAbove
        }
        return Double(twiceWon) / (2 * Double(positives.count) * Double(negatives.count))
    }

    /// Mean binary cross-entropy of the scores as probabilities of the positive class, clipped to
    /// [ε, 1 − ε] with ε the double's machine epsilon, as `sklearn.metrics.log_loss`.
    public func logLoss() -> Double {
        var sum = KahanSum()
        for p in positives { sum.add(-log(ProbabilisticMetrics.clipProbability(p))) }
        for p in negatives { sum.add(-log(ProbabilisticMetrics.clipProbability(1 - p))) }
        return sum.value / Double(count)
    }

    /// The reliability curve of the scores as probabilities; see
    /// ``ProbabilisticMetrics/reliabilityCurve(labels:probabilities:bins:)``.
    ///
    /// - Throws: ``StatisticsError`` when `bins` is not positive or a score is outside [0, 1].
    public func reliabilityCurve(bins: Int = 10) throws(StatisticsError) -> [ProbabilisticMetrics.ReliabilityBin] {
        guard bins > 0 else { throw StatisticsError(.invalidParameter, "calibration needs at least one bin") }
        guard areProbabilities else {
            throw StatisticsError(.invalidParameter, "probabilities must lie in [0, 1]")
        }
        var sums = [(probability: Double, positives: Double, count: Int)](repeating: (0, 0, 0), count: bins)
        for (scores, positive) in [(positives, 1.0), (negatives, 0.0)] {
            for probability in scores {
                let bin = min(bins - 1, Int(probability * Double(bins)))
                sums[bin].probability += probability
                sums[bin].positives += positive
                sums[bin].count += 1
            }
        }
        return sums.enumerated().filter { $0.element.count > 0 }.map { bin, sum in
            ProbabilisticMetrics.ReliabilityBin(
                lower: Double(bin) / Double(bins), upper: Double(bin + 1) / Double(bins),
                meanProbability: sum.probability / Double(sum.count), observedRate: sum.positives / Double(sum.count), count: sum.count
            )
        }
    }

    /// Expected calibration error: the row-weighted mean of |mean probability − share of
    /// positives| over the reliability curve's bins.
    ///
    /// - Throws: ``StatisticsError`` when `bins` is not positive or a score is outside [0, 1].
    public func expectedCalibrationError(bins: Int = 10) throws(StatisticsError) -> Double {
        let total = Double(count)
        return try reliabilityCurve(bins: bins).reduce(0) { $0 + Double($1.count) / total * abs($1.meanProbability - $1.observedRate) }
    }
}
