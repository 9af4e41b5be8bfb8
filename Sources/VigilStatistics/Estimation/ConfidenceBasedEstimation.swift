import Foundation

/// A binary classifier's metrics that can be estimated before labels arrive, named as the
/// realised ones are.
public enum EstimatedMetric: String, Sendable, Codable, CaseIterable {
    case accuracy, precision, recall, f1, specificity
    case rocAUC = "roc_auc"

    /// The metric realised on labelled rows: `predictions` are the classes the model gave (0 or
    /// 1), `scores` its raw scores (ranking rows for ROC AUC); `nil` when undefined (no predicted
    /// positive for precision, one class only for ROC AUC).
    public func realised(labels: [Int], predictions: [Int], scores: [Double]) -> Double? {
        var counts = (tp: 0, fp: 0, fn: 0, tn: 0)
        for (label, prediction) in zip(labels, predictions) {
            switch (label == 1, prediction == 1) {
            case (true, true): counts.tp += 1
            case (false, true): counts.fp += 1
            case (true, false): counts.fn += 1
            case (false, false): counts.tn += 1
            }
        }
        if self == .rocAUC { return try? ProbabilisticMetrics.rocAUC(labels: labels, scores: scores) }
        return value(tp: Double(counts.tp), fp: Double(counts.fp), fn: Double(counts.fn), tn: Double(counts.tn))
    }

    /// The metric of a confusion matrix whose cells may be expected (fractional) counts.
    func value(tp: Double, fp: Double, fn: Double, tn: Double) -> Double? {
        func ratio(_ numerator: Double, _ denominator: Double) -> Double? { denominator > 0 ? numerator / denominator : nil }
        switch self {
        case .accuracy: return ratio(tp + tn, tp + fp + fn + tn)
        case .precision: return ratio(tp, tp + fp)
        case .recall: return ratio(tp, tp + fn)
        case .f1: return ratio(2 * tp, 2 * tp + fp + fn)
        case .specificity: return ratio(tn, tn + fp)
        case .rocAUC: return nil
        }
    }
}

/// Confidence-based performance estimation (CBPE, as NannyML implements it after Kivimäki et
/// al.): with calibrated probabilities, each row's chance of being a true or false positive or
/// negative is known, so the window's expected confusion matrix, and every metric of it, is
/// known without labels. ROC AUC is estimated from the expected true- and false-positive rates at
/// each distinct raw score (the rows ranked by the model's own scores, weighted by their
/// calibrated probabilities). Pure: no I/O.
public enum ConfidenceBasedEstimation {
    /// Estimated metrics of one window: `probabilities` are calibrated positive-class
    /// probabilities, `predictions` the classes the model gave, `scores` its raw scores. A metric
    /// that is undefined on the window (nothing expected to be predicted positive) is left out.
    ///
    /// - Throws: ``StatisticsError`` when the inputs differ in length or are empty.
    public static func estimate(probabilities: [Double], predictions: [Int], scores: [Double]) throws(StatisticsError) -> [EstimatedMetric: Double] {
        try StatisticsError.checkPaired(probabilities.count, predictions.count)
        try StatisticsError.checkPaired(probabilities.count, scores.count)
        var cells = (tp: KahanSum(), fp: KahanSum(), fn: KahanSum(), tn: KahanSum())
        for (probability, prediction) in zip(probabilities, predictions) {
            if prediction == 1 {
                cells.tp.add(probability)
                cells.fp.add(1 - probability)
            } else {
                cells.fn.add(probability)
                cells.tn.add(1 - probability)
            }
        }
        var estimates: [EstimatedMetric: Double] = [:]
        for metric in EstimatedMetric.allCases where metric != .rocAUC {
            estimates[metric] = metric.value(tp: cells.tp.value, fp: cells.fp.value, fn: cells.fn.value, tn: cells.tn.value)
        }
        estimates[.rocAUC] = rocAUC(probabilities: probabilities, scores: scores)
        return estimates
    }

    /// Expected ROC AUC: at each distinct score, a row above it is an expected true positive by
    /// its probability and a false one by the rest; trapezoids over the expected curve.
    static func rocAUC(probabilities: [Double], scores: [Double]) -> Double? {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let positives = probabilities.reduce(0, +), negatives = Double(probabilities.count) - positives
        guard positives > 0, negatives > 0 else { return nil }
        var area = KahanSum()
        var (tp, fp) = (0.0, 0.0)
        var previous = (tp: 0.0, fp: 0.0)
        for (rank, index) in order.enumerated() {
            tp += probabilities[index]
            fp += 1 - probabilities[index]
            // A point of the curve after the last of each run of tied scores.
            if rank + 1 == order.count || scores[order[rank + 1]] != scores[index] {
                area.add((fp - previous.fp) * (tp + previous.tp) / 2)
                previous = (tp, fp)
            }
        }
        return area.value / (positives * negatives)
    }
}
