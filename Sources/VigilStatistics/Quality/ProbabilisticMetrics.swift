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
        try BinaryOutcomes(labels: labels, scores: probabilities).expectedCalibrationError(bins: bins)
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
        try BinaryOutcomes(labels: labels, scores: probabilities).reliabilityCurve(bins: bins)
    }

    /// Area under the ROC curve of binary labels (1 positive) against scores, as
    /// `sklearn.metrics.roc_auc_score`; see ``BinaryOutcomes/rocAUC()``.
    ///
    /// - Throws: ``StatisticsError`` when lengths differ, the input is empty, a score is NaN, or
    ///   only one class occurs.
    public static func rocAUC(labels: [Int], scores: [Double]) throws(StatisticsError) -> Double {
        try BinaryOutcomes(labels: labels, scores: scores).rocAUC()
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
        try BinaryOutcomes(labels: labels, scores: probabilities).logLoss()
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

    static func clipProbability(_ p: Double) -> Double {
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
