import Foundation

/// Metrics of a classifier's scores or probabilities, as scikit-learn computes them.
public enum ProbabilisticMetrics {
    /// Expected calibration error of probabilities of the positive class: over `bins` equal-width
    /// bins of [0, 1] (a probability of exactly 1 in the last), the row-weighted mean of
    /// |mean probability − share of positives| (Naeini et al.; the binning of
    /// `sklearn.calibration.calibration_curve(strategy="uniform")`).
    ///
    /// - Throws: ``StatisticsError`` when lengths differ, the input is empty, or a probability is
    ///   outside [0, 1].
    public static func expectedCalibrationError(labels: [Int], probabilities: [Double], bins: Int = 10) throws(StatisticsError) -> Double {
        let curve = try reliabilityCurve(labels: labels, probabilities: probabilities, bins: bins)
        let total = Double(labels.count)
        return curve.reduce(0) { $0 + Double($1.count) / total * abs($1.meanProbability - $1.observedRate) }
    }

    /// One bin of a reliability curve: the rows whose probability fell in [`lower`, `upper`).
    public struct ReliabilityBin: Sendable, Equatable, Codable {
        public let lower: Double
        public let upper: Double
        /// The bin's mean predicted probability and its share of positives.
        public let meanProbability: Double
        public let observedRate: Double
        public let count: Int

        public init(lower: Double, upper: Double, meanProbability: Double, observedRate: Double, count: Int) {
            self.lower = lower
            self.upper = upper
            self.meanProbability = meanProbability
            self.observedRate = observedRate
            self.count = count
        }
    }

    /// The reliability curve: per equal-width bin of [0, 1] that holds any row (a probability of
    /// exactly 1 in the last), the mean probability against the share of positives, as
    /// `sklearn.calibration.calibration_curve(strategy="uniform")` bins them. A calibrated model's
    /// bins lie on the diagonal.
    ///
    /// - Throws: ``StatisticsError`` when lengths differ, the input is empty, or a probability is
    ///   outside [0, 1].
    public static func reliabilityCurve(labels: [Int], probabilities: [Double], bins: Int = 10) throws(StatisticsError) -> [ReliabilityBin] {
        try StatisticsError.checkPaired(labels.count, probabilities.count)
        guard bins > 0 else { throw StatisticsError(.invalidParameter, "calibration needs at least one bin") }
        guard probabilities.allSatisfy({ (0...1).contains($0) }) else { throw StatisticsError(.invalidParameter, "probabilities must lie in [0, 1]") }
        var sums = [(probability: Double, positives: Double, count: Int)](repeating: (0, 0, 0), count: bins)
        for (label, probability) in zip(labels, probabilities) {
            let bin = min(bins - 1, Int(probability * Double(bins)))
            sums[bin].probability += probability
            sums[bin].positives += label == 1 ? 1 : 0
            sums[bin].count += 1
        }
        return sums.enumerated().filter { $0.element.count > 0 }.map { bin, sum in
            ReliabilityBin(
                lower: Double(bin) / Double(bins), upper: Double(bin + 1) / Double(bins),
                meanProbability: sum.probability / Double(sum.count), observedRate: sum.positives / Double(sum.count), count: sum.count
            )
        }
    }

    /// Area under the ROC curve of binary labels (1 positive) against scores, as
    /// `sklearn.metrics.roc_auc_score`: trapezoids over the curve's points at distinct scores, so
    /// tied scores count half.
    ///
    /// Computed as that area's equal, the Mann–Whitney statistic: the share of (positive,
    /// negative) pairs in which the positive scores higher, ties counting half. Each class's
    /// scores are radix-sorted and merged, in linear time and a copy of the scores, so a window of
    /// millions of labelled rows costs no comparison sort of their indices.
    ///
    /// - Throws: ``StatisticsError`` when lengths differ, the input is empty, or only one class occurs.
    public static func rocAUC(labels: [Int], scores: [Double]) throws(StatisticsError) -> Double {
        try StatisticsError.checkPaired(labels.count, scores.count)
        if scores.contains(where: \.isNaN) {
            throw StatisticsError(.invalidParameter, "scores contain NaN")
        }
        let positiveCount = labels.lazy.filter { $0 == 1 }.count
        guard positiveCount > 0, positiveCount < labels.count else {
            throw StatisticsError(.invalidParameter, "both classes must occur (found only \(positiveCount > 0 ? "positives" : "negatives"))")
        }
        var positives: [Double] = [], negatives: [Double] = []
        positives.reserveCapacity(positiveCount)
        negatives.reserveCapacity(labels.count - positiveCount)
        for (label, score) in zip(labels, scores) {
            if label == 1 { positives.append(score) } else { negatives.append(score) }
        }
        RadixSort.sort(&positives)
        RadixSort.sort(&negatives)
        // Twice the pairs won: 2 for each negative below a positive, 1 for each tie. Exact in integers.
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

    /// Average precision, the area under the precision–recall curve as a step function
    /// (Σ (Rₖ − Rₖ₋₁) Pₖ), as `sklearn.metrics.average_precision_score`.
    public static func averagePrecision(labels: [Int], scores: [Double]) throws(StatisticsError) -> Double {
        let curve = try OperatingPoints(labels: labels, scores: scores)
        var sum = KahanSum()
        var previousTP = 0
        for point in curve.points where point.tp > previousTP {
            let precision = Double(point.tp) / Double(point.tp + point.fp)
            sum.add(Double(point.tp - previousTP) / Double(curve.positives) * precision)
            previousTP = point.tp
        }
        return sum.value
    }

    /// Mean binary cross-entropy of the positive-class probabilities, clipped to [ε, 1 − ε]
    /// with ε the double's machine epsilon, as `sklearn.metrics.log_loss`.
    public static func logLoss(labels: [Int], probabilities: [Double]) throws(StatisticsError) -> Double {
        try StatisticsError.checkPaired(labels.count, probabilities.count)
        var sum = KahanSum()
        for (label, p) in zip(labels, probabilities) {
            sum.add(-log(clipProbability(label == 1 ? p : 1 - p)))
        }
        return sum.value / Double(labels.count)
    }

    /// Mean cross-entropy of per-class probability rows (each summing to 1), as `sklearn.metrics.log_loss`.
    public static func logLoss(labels: [Int], probabilityRows: [[Double]]) throws(StatisticsError) -> Double {
        try StatisticsError.checkPaired(labels.count, probabilityRows.count)
        var sum = KahanSum()
        for (label, row) in zip(labels, probabilityRows) {
            guard row.indices.contains(label) else {
                throw StatisticsError(.invalidParameter, "class \(label) has no probability column")
            }
            sum.add(-log(clipProbability(row[label])))
        }
        return sum.value / Double(labels.count)
    }

    /// Mean squared difference between the positive-class probability and the 0/1 label,
    /// as `sklearn.metrics.brier_score_loss`.
    public static func brierScore(labels: [Int], probabilities: [Double]) throws(StatisticsError) -> Double {
        try StatisticsError.checkPaired(labels.count, probabilities.count)
        var sum = KahanSum()
        for (label, p) in zip(labels, probabilities) {
            let difference = p - Double(label)
            sum.add(difference * difference)
        }
        return sum.value / Double(labels.count)
    }

    private static func clipProbability(_ p: Double) -> Double {
        min(max(p, Double.ulpOfOne), 1 - Double.ulpOfOne)
    }
}

/// Cumulative false and true positives at each distinct score, highest score first.
struct OperatingPoints {
    let points: [(fp: Int, tp: Int)]
    let positives: Int
    let negatives: Int

    init(labels: [Int], scores: [Double]) throws(StatisticsError) {
        try StatisticsError.checkPaired(labels.count, scores.count)
        if scores.contains(where: \.isNaN) {
            throw StatisticsError(.invalidParameter, "scores contain NaN")
        }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var points: [(fp: Int, tp: Int)] = []
        var fp = 0, tp = 0
        for (position, index) in order.enumerated() {
            if labels[index] == 1 { tp += 1 } else { fp += 1 }
            let next = position + 1
            if next == order.count || scores[order[next]] != scores[index] {
                points.append((fp, tp))
            }
        }
        guard tp > 0, fp > 0 else {
            throw StatisticsError(.invalidParameter, "both classes must occur (found only \(tp > 0 ? "positives" : "negatives"))")
        }
        self.points = points
        positives = tp
        negatives = fp
    }
}
