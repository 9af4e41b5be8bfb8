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
        var confusion = ExpectedConfusion()
        for (probability, prediction) in zip(probabilities, predictions) {
            confusion.add(probability: probability, rows: 1, predictedPositive: prediction == 1)
        }
        var curve = ExpectedROCCurve()
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var run = (positives: 0.0, rows: 0.0)
        for (rank, index) in order.enumerated() {
            run.positives += probabilities[index]
            run.rows += 1
            // A point of the curve after the last of each run of tied scores.
            if rank + 1 == order.count || scores[order[rank + 1]] != scores[index] {
                curve.add(expectedPositives: run.positives, rows: run.rows)
                run = (0, 0)
            }
        }
        return confusion.metrics(rocAUC: curve.area)
    }

    /// Estimated metrics of one window of a model whose calibrated probability is a function of
    /// its raw score alone, given only its scores split by the class the model predicted
    /// (`predicted.positives` and `predicted.negatives`, each sorted): 8 bytes a row for a window
    /// of millions. Each distinct score is calibrated once.
    public static func estimate(calibration: ScoreCalibration, predicted: BinaryOutcomes) -> [EstimatedMetric: Double] {
        let (predictedPositive, predictedNegative) = (predicted.positives, predicted.negatives)
        var confusion = ExpectedConfusion()
        var curve = ExpectedROCCurve()
        // Down both sorted halves at once, highest score first, a run of tied scores at a time.
        var (positive, negative) = (predictedPositive.count, predictedNegative.count)
        while positive > 0 || negative > 0 {
            let score = max(positive > 0 ? predictedPositive[positive - 1] : -.infinity, negative > 0 ? predictedNegative[negative - 1] : -.infinity)
            let before = (positive, negative)
            while positive > 0, predictedPositive[positive - 1] == score { positive -= 1 }
            while negative > 0, predictedNegative[negative - 1] == score { negative -= 1 }
            let probability = calibration.probability(score)
            let rows = (positive: Double(before.0 - positive), negative: Double(before.1 - negative))
            confusion.add(probability: probability, rows: rows.positive, predictedPositive: true)
            confusion.add(probability: probability, rows: rows.negative, predictedPositive: false)
            curve.add(expectedPositives: probability * (rows.positive + rows.negative), rows: rows.positive + rows.negative)
        }
        return confusion.metrics(rocAUC: curve.area)
    }
}

/// A window's expected confusion matrix: each row adds its calibrated probability to the
/// positive cell of its predicted class, and the rest to the negative one.
private struct ExpectedConfusion {
    private var cells = (tp: KahanSum(), fp: KahanSum(), fn: KahanSum(), tn: KahanSum())

    /// Adds `rows` rows of one calibrated `probability`, all predicted the same class.
    mutating func add(probability: Double, rows: Double, predictedPositive: Bool) {
        guard rows > 0 else { return }
        if predictedPositive {
            cells.tp.add(rows * probability)
            cells.fp.add(rows * (1 - probability))
        } else {
            cells.fn.add(rows * probability)
            cells.tn.add(rows * (1 - probability))
        }
    }

    /// Every metric of the matrix, with the ROC AUC given; undefined ones left out.
    func metrics(rocAUC: Double?) -> [EstimatedMetric: Double] {
        var estimates: [EstimatedMetric: Double] = [:]
        for metric in EstimatedMetric.allCases where metric != .rocAUC {
            estimates[metric] = metric.value(tp: cells.tp.value, fp: cells.fp.value, fn: cells.fn.value, tn: cells.tn.value)
        }
        estimates[.rocAUC] = rocAUC
        return estimates
    }
}

/// The expected ROC curve, built from the highest score down: at each distinct score, its rows
/// are expected true positives by their calibrated probabilities and false ones by the rest;
/// the area is the trapezoids under it.
private struct ExpectedROCCurve {
    private var trapezoids = KahanSum()
    private var point = (tp: 0.0, fp: 0.0)

    /// Adds the rows of the next lower distinct score: `rows` of them, `expectedPositives` the
    /// sum of their calibrated probabilities.
    mutating func add(expectedPositives: Double, rows: Double) {
        let next = (tp: point.tp + expectedPositives, fp: point.fp + rows - expectedPositives)
        trapezoids.add((next.fp - point.fp) * (next.tp + point.tp) / 2)
        point = next
    }

    /// The area under the curve, normalised; `nil` unless both classes are expected.
    var area: Double? {
        point.tp > 0 && point.fp > 0 ? trapezoids.value / (point.tp * point.fp) : nil
    }
}
