import Foundation

/// A binary classifier's performance estimator, fitted on its labelled reference: the calibration
/// of its scores (isotonic or Platt), and how much each metric varies from chunk to chunk there.
///
/// A window's estimate is ``ConfidenceBasedEstimation`` over the calibrated scores. Its sampling
/// error is the standard deviation of the metric realised on consecutive reference chunks of
/// ``chunkSize`` rows, scaled to the window's size (σ·√(chunk / rows)); the band is three
/// sampling errors either side, clipped to [0, 1], as NannyML draws its bands. Codable, to be
/// stored with the model version it was fitted for.
public struct PerformanceEstimator: Sendable, Equatable, Codable {
    /// One metric's estimate on one window.
    public struct Estimate: Sendable, Equatable {
        public let value: Double
        /// The sampling error at the window's size; `nil` when the reference had too few chunks.
        public let standardError: Double?
        public let lower: Double?
        public let upper: Double?

        /// An estimate on a window of `rows` rows whose metric varied by `spread` between
        /// reference chunks of `chunkSize` rows: sampling error σ·√(chunk / rows), band three of
        /// them either side, clipped to the metric's `range`; no band without a spread.
        init(value: Double, spread: Double?, chunkSize: Int, rows: Int, range: ClosedRange<Double> = 0...1) {
            self.value = value
            guard let spread else {
                (standardError, lower, upper) = (nil, nil, nil)
                return
            }
            let error = spread * (Double(chunkSize) / Double(rows)).squareRoot()
            (standardError, lower, upper) = (error, max(range.lowerBound, value - 3 * error), min(range.upperBound, value + 3 * error))
        }
    }

    public let calibration: ScoreCalibration
    /// Rows per reference chunk.
    public let chunkSize: Int
    /// Per metric (its raw name), the standard deviation of its realised value across the
    /// reference's chunks; absent when it could not be measured on two chunks.
    public let chunkSpread: [String: Double]

    /// Fits the estimator on the labelled reference, rows in time order, calibrating its scores
    /// by `calibration` (isotonic regression unless told). `chunkSize` defaults to a tenth of the
    /// reference, and at least 30 rows.
    ///
    /// - Throws: ``StatisticsError`` when the inputs differ in length, are empty, or hold a
    ///   label or prediction other than 0 and 1.
    public init(
        scores: [Double], predictions: [Int], labels: [Int], chunkSize: Int? = nil, calibration method: ScoreCalibration.Method = .isotonic
    ) throws(StatisticsError) {
        try StatisticsError.checkPaired(scores.count, labels.count)
        try StatisticsError.checkPaired(scores.count, predictions.count)
        guard predictions.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw StatisticsError(.invalidParameter, "predictions must be 0 or 1") }
        calibration = try ScoreCalibration(method, scores: scores, labels: labels)
        let size = chunkSize ?? max(30, scores.count / 10)
        guard size > 0 else { throw StatisticsError(.invalidParameter, "chunk size must be positive") }
        self.chunkSize = size
        chunkSpread = Self.chunkSpread(rows: scores.count, chunkSize: size) { (metric: EstimatedMetric, rows) in
            metric.realised(labels: Array(labels[rows]), predictions: Array(predictions[rows]), scores: Array(scores[rows]))
        }
    }

    /// Per metric, the sample standard deviation of `realised` over consecutive whole chunks of
    /// `rows` rows; a metric measured on fewer than two chunks is left out.
    static func chunkSpread<Metric: CaseIterable & RawRepresentable<String>>(
        rows: Int, chunkSize: Int, realised: (Metric, Range<Int>) -> Double?
    ) -> [String: Double] {
        var spread: [String: Double] = [:]
        let starts = Array(stride(from: 0, to: rows - chunkSize + 1, by: chunkSize))
        for metric in Metric.allCases {
            let values = starts.compactMap { realised(metric, $0..<($0 + chunkSize)) }
            guard values.count >= 2 else { continue }
            let mean = values.reduce(0, +) / Double(values.count)
            spread[metric.rawValue] = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
        }
        return spread
    }

    /// The estimated metrics of a window of unlabelled rows: the model's raw `scores` and the
    /// classes it predicted (0 or 1).
    ///
    /// - Throws: ``StatisticsError`` when the inputs differ in length, are empty, or a score is NaN.
    public func estimate(scores: [Double], predictions: [Int]) throws(StatisticsError) -> [EstimatedMetric: Estimate] {
        try StatisticsError.checkPaired(scores.count, predictions.count)
        var predictedPositive: [Double] = [], predictedNegative: [Double] = []
        for (score, prediction) in zip(scores, predictions) {
            if prediction == 1 { predictedPositive.append(score) } else { predictedNegative.append(score) }
        }
        return try estimate(predictedPositive: consume predictedPositive, predictedNegative: consume predictedNegative)
    }

    /// The estimated metrics of a window of unlabelled rows, given as the raw scores of the rows
    /// the model predicted positive and of those it predicted negative, in any order: what a
    /// window of millions of rows hands over, 8 bytes a row.
    ///
    /// - Throws: ``StatisticsError`` when there are no scores or a score is NaN.
    public func estimate(predictedPositive: consuming [Double], predictedNegative: consuming [Double]) throws(StatisticsError) -> [EstimatedMetric: Estimate] {
        let rows = predictedPositive.count + predictedNegative.count
        let predicted = try BinaryOutcomes(positives: consume predictedPositive, negatives: consume predictedNegative)
        let values = ConfidenceBasedEstimation.estimate(calibration: calibration, predicted: predicted)
        var estimates: [EstimatedMetric: Estimate] = [:]
        for (metric, value) in values {
            estimates[metric] = Estimate(value: value, spread: chunkSpread[metric.rawValue], chunkSize: chunkSize, rows: rows)
        }
        return estimates
    }
}
