import Foundation

/// A multiclass classifier's performance estimator, fitted on its labelled reference, as NannyML's
/// CBPE estimates one: each class's probability calibrated one-vs-rest by isotonic regression
/// (when that makes it more faithful, see ``IsotonicCalibration/improves(scores:labels:)``), the
/// calibrated probabilities of a row scaled to sum to 1 (uniform when all are 0), and then
///
/// - accuracy: the mean calibrated probability of the predicted class;
/// - precision, recall, F1, specificity: each class's binary estimate (predicted that class or
///   not, with its calibrated probability; see ``ConfidenceBasedEstimation``; 0 where undefined,
///   as NannyML has it), macro-averaged;
/// - ROC AUC: each class's expected one-vs-rest ROC AUC (rows ranked by the class's raw
///   probability), macro-averaged.
///
/// Sampling errors and bands come from the reference's chunk-to-chunk spread, as for
/// ``PerformanceEstimator``. Codable, to be stored with what it was fitted for. Pure: no I/O.
public struct MulticlassPerformanceEstimator: Sendable, Equatable, Codable {
    /// The class count the estimator was fitted for; rows' probabilities come in this order.
    public let classCount: Int
    /// Per class, the calibration of its probability; `nil` where the raw one is kept.
    public let calibrations: [IsotonicCalibration?]
    /// Rows per reference chunk.
    public let chunkSize: Int
    /// Per metric (its raw name), the standard deviation of its realised value across the
    /// reference's chunks; absent when it could not be measured on two chunks.
    public let chunkSpread: [String: Double]

    /// Fits the estimator on the labelled reference, rows in time order: per row, each class's
    /// raw probability (`probabilities[row][class]`), the predicted class and the true class
    /// (indices into the classes). `chunkSize` defaults to a tenth of the reference, at least 30.
    ///
    /// - Throws: ``StatisticsError`` when the inputs differ in length, are empty, name a class
    ///   outside the probabilities, or have fewer than two classes.
    public init(probabilities: [[Double]], predictions: [Int], labels: [Int], chunkSize: Int? = nil) throws(StatisticsError) {
        try StatisticsError.checkPaired(probabilities.count, labels.count)
        try StatisticsError.checkPaired(probabilities.count, predictions.count)
        let classes = probabilities.first?.count ?? 0
        guard classes >= 2, probabilities.allSatisfy({ $0.count == classes }) else {
            throw StatisticsError(.invalidParameter, "every row needs one probability per class, and at least two classes")
        }
        guard (predictions + labels).allSatisfy({ (0..<classes).contains($0) }) else {
            throw StatisticsError(.invalidParameter, "predicted and true classes must index the probabilities")
        }
        classCount = classes
        var calibrations: [IsotonicCalibration?] = []
        for k in 0..<classes {
            let scores = probabilities.map { $0[k] }, truth = labels.map { $0 == k ? 1 : 0 }
            calibrations.append(try IsotonicCalibration.improves(scores: scores, labels: truth) ? try IsotonicCalibration(scores: scores, labels: truth) : nil)
        }
        self.calibrations = calibrations
        let size = chunkSize ?? max(30, probabilities.count / 10)
        guard size > 0 else { throw StatisticsError(.invalidParameter, "chunk size must be positive") }
        self.chunkSize = size
        chunkSpread = PerformanceEstimator.chunkSpread(rows: probabilities.count, chunkSize: size) { metric, rows in
            Self.realised(metric, probabilities: Array(probabilities[rows]), predictions: Array(predictions[rows]), labels: Array(labels[rows]))
        }
    }

    /// The metric realised on labelled rows, macro-averaged over the classes (a class whose
    /// precision or recall is undefined counts 0, as scikit-learn's default does); `nil` for
    /// ROC AUC when a class is missing from the labels.
    public static func realised(_ metric: EstimatedMetric, probabilities: [[Double]], predictions: [Int], labels: [Int]) -> Double? {
        guard let classes = probabilities.first?.count, !labels.isEmpty else { return nil }
        if metric == .accuracy { return Double(zip(labels, predictions).filter { $0 == $1 }.count) / Double(labels.count) }
        var total = 0.0
        for k in 0..<classes {
            let truth = labels.map { $0 == k ? 1 : 0 }
            let value = metric.realised(labels: truth, predictions: predictions.map { $0 == k ? 1 : 0 }, scores: probabilities.map { $0[k] })
            if value == nil, metric == .rocAUC { return nil }
            total += value ?? 0
        }
        return total / Double(classes)
    }

    /// Each row's calibrated class probabilities, scaled to sum to 1.
    public func calibrated(_ probabilities: [[Double]]) -> [[Double]] {
        probabilities.map { row in
            let raw = zip(calibrations, row).map { calibration, probability in calibration?.probability(probability) ?? probability }
            let sum = raw.reduce(0, +)
            return sum > 0 ? raw.map { $0 / sum } : Array(repeating: 1 / Double(classCount), count: classCount)
        }
    }

    /// The estimated metrics of a window of unlabelled rows: each class's raw probability and
    /// the predicted class.
    ///
    /// - Throws: ``StatisticsError`` when the inputs differ in length, are empty, or do not
    ///   match the classes fitted.
    public func estimate(probabilities: [[Double]], predictions: [Int]) throws(StatisticsError) -> [EstimatedMetric: PerformanceEstimator.Estimate] {
        try StatisticsError.checkPaired(probabilities.count, predictions.count)
        guard probabilities.allSatisfy({ $0.count == classCount }), predictions.allSatisfy({ (0..<classCount).contains($0) }) else {
            throw StatisticsError(.invalidParameter, "rows must have \(classCount) class probabilities and a predicted class among them")
        }
        let calibrated = calibrated(probabilities)
        var values: [EstimatedMetric: Double] = [:]
        values[.accuracy] = zip(calibrated, predictions).map { $0[$1] }.reduce(0, +) / Double(predictions.count)
        var sums: [EstimatedMetric: Double] = [:]
        var aucs: [Double] = []
        for k in 0..<classCount {
            let own = calibrated.map { $0[k] }
            let binary = try ConfidenceBasedEstimation.estimate(
                probabilities: own, predictions: predictions.map { $0 == k ? 1 : 0 }, scores: probabilities.map { $0[k] }
            )
            for metric in [EstimatedMetric.precision, .recall, .f1, .specificity] { sums[metric, default: 0] += binary[metric] ?? 0 }
            if let auc = binary[.rocAUC] { aucs.append(auc) }
        }
        for (metric, sum) in sums { values[metric] = sum / Double(classCount) }
        if aucs.count == classCount { values[.rocAUC] = aucs.reduce(0, +) / Double(classCount) }
        var estimates: [EstimatedMetric: PerformanceEstimator.Estimate] = [:]
        for (metric, value) in values {
            estimates[metric] = PerformanceEstimator.Estimate(value: value, spread: chunkSpread[metric.rawValue], chunkSize: chunkSize, rows: predictions.count)
        }
        return estimates
    }
}
