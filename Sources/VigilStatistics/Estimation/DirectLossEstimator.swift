import Foundation

/// A regression model's error estimated before labels by direct loss estimation (DLE, as
/// NannyML implements it): on the labelled reference, a second model learns how wrong the
/// monitored model is from the same inputs and its prediction, one for the absolute error and
/// one for the squared error; a window's MAE is the mean of its rows' expected absolute errors,
/// its RMSE the root of the mean of their expected squared errors.
///
/// The error models are ``GradientBoostedTrees`` over the numeric features as they are, each
/// categorical feature as one input (its categories ranked by their mean absolute error on the
/// reference; unseen and missing ones as missing) and the prediction. Bands are as
/// ``PerformanceEstimator``'s: three sampling errors, each the spread of the realised metric
/// between reference chunks scaled to the window's size, clipped at 0. Codable, to be stored
/// with the model version it was fitted for.
public struct DirectLossEstimator: Sendable, Equatable, Codable {
    /// What it estimates.
    public enum Loss: String, Sendable, Codable, CaseIterable {
        case mae, rmse

        /// The loss realised on labelled rows.
        public func realised(predictions: ArraySlice<Double>, targets: ArraySlice<Double>) -> Double? {
            guard !predictions.isEmpty else { return nil }
            var sum = KahanSum()
            for (prediction, target) in zip(predictions, targets) {
                let error = target - prediction
                sum.add(self == .mae ? abs(error) : error * error)
            }
            let mean = sum.value / Double(predictions.count)
            return self == .mae ? mean : mean.squareRoot()
        }
    }

    /// A feature as the error models read it; `codes` for a categorical one.
    struct Input: Sendable, Equatable, Codable {
        let name: String
        let codes: [String: Double]?
    }

    let inputs: [Input]
    let absoluteError: GradientBoostedTrees
    let squaredError: GradientBoostedTrees
    /// Rows per reference chunk.
    public let chunkSize: Int
    /// Per loss (its raw name), the standard deviation of its realised value across the
    /// reference's chunks; absent when it could not be measured on two chunks.
    public let chunkSpread: [String: Double]

    /// Most reference rows the error models are fitted on; a longer reference is thinned evenly.
    public static let maximumFittingRows = 50_000

    /// Fits the estimator on the labelled reference, rows in time order: its `features`, the
    /// model's `predictions` and the true `targets`. Rows whose prediction or target is missing
    /// or not finite are left out. `chunkSize` defaults to a tenth of the reference, and at
    /// least 30 rows.
    ///
    /// - Throws: ``StatisticsError`` when a column differs in length from the predictions, or
    ///   fewer than two rows are usable.
    public init(
        features: [String: ColumnValues], predictions: [Double], targets: [Double], chunkSize: Int? = nil,
        configuration: GradientBoostedTrees.Configuration = .standard
    ) throws(StatisticsError) {
        try StatisticsError.checkPaired(predictions.count, targets.count)
        for column in features.values { try StatisticsError.checkPaired(column.count, predictions.count) }
        let usable = predictions.indices.filter { predictions[$0].isFinite && targets[$0].isFinite }
        guard usable.count >= 2 else { throw StatisticsError(.emptySample, "fewer than two rows with a prediction and a target") }
        let predicted = usable.map { predictions[$0] }, truth = usable.map { targets[$0] }
        let absolute = zip(truth, predicted).map { abs($0 - $1) }

        inputs = features.keys.sorted().map { name in
            guard case let .categorical(values) = features[name]! else { return Input(name: name, codes: nil) }
            return Input(name: name, codes: Self.codes(usable.map { values[$0] }, ranking: absolute))
        }
        let thinned = usable.count > Self.maximumFittingRows
            ? (0..<Self.maximumFittingRows).map { $0 * usable.count / Self.maximumFittingRows }
            : Array(usable.indices)
        let columns = Self.columns(inputs, features, predictions, rows: thinned.map { usable[$0] })
        absoluteError = try GradientBoostedTrees(columns: columns, targets: thinned.map { absolute[$0] }, configuration: configuration)
        squaredError = try GradientBoostedTrees(columns: columns, targets: thinned.map { absolute[$0] * absolute[$0] }, configuration: configuration)

        let size = chunkSize ?? max(30, usable.count / 10)
        guard size > 0 else { throw StatisticsError(.invalidParameter, "chunk size must be positive") }
        self.chunkSize = size
        chunkSpread = PerformanceEstimator.chunkSpread(rows: usable.count, chunkSize: size) { (loss: Loss, rows) in
            loss.realised(predictions: predicted[rows], targets: truth[rows])
        }
    }

    /// The estimated losses of a window of unlabelled rows: their `features` and the model's
    /// `predictions`. Rows without a finite prediction are left out; a feature the window lacks
    /// reads as missing.
    ///
    /// - Throws: ``StatisticsError`` when a column differs in length from the predictions, or no
    ///   row has a finite prediction.
    public func estimate(features: [String: ColumnValues], predictions: [Double]) throws(StatisticsError) -> [Loss: PerformanceEstimator.Estimate] {
        for column in features.values { try StatisticsError.checkPaired(column.count, predictions.count) }
        let rows = predictions.indices.filter { predictions[$0].isFinite }
        guard !rows.isEmpty else { throw StatisticsError(.emptySample, "no row has a prediction") }
        let columns = Self.columns(inputs, features, predictions, rows: rows)
        var absolute = KahanSum(), squared = KahanSum()
        var row = [Double](repeating: 0, count: columns.count)
        for index in rows.indices {
            for feature in columns.indices { row[feature] = columns[feature][index] }
            absolute.add(max(0, absoluteError.predict(row)))
            squared.add(max(0, squaredError.predict(row)))
        }
        let count = Double(rows.count)
        let values: [Loss: Double] = [.mae: absolute.value / count, .rmse: (squared.value / count).squareRoot()]
        return values.reduce(into: [:]) { estimates, entry in
            estimates[entry.key] = PerformanceEstimator.Estimate(
                value: entry.value, spread: chunkSpread[entry.key.rawValue], chunkSize: chunkSize, rows: rows.count, range: 0...Double.greatestFiniteMagnitude
            )
        }
    }

    /// Each category's code: its rank by mean `ranking` value, so that a split on the code
    /// separates categories with small errors from those with large ones.
    private static func codes(_ values: [String?], ranking: [Double]) -> [String: Double] {
        var totals: [String: (sum: Double, count: Double)] = [:]
        for (value, error) in zip(values, ranking) {
            guard let value else { continue }
            totals[value, default: (0, 0)].sum += error
            totals[value, default: (0, 0)].count += 1
        }
        let ranked = totals.sorted { lhs, rhs in
            let (a, b) = (lhs.value.sum / lhs.value.count, rhs.value.sum / rhs.value.count)
            return a != b ? a < b : lhs.key < rhs.key
        }
        return Dictionary(uniqueKeysWithValues: ranked.enumerated().map { ($0.element.key, Double($0.offset)) })
    }

    /// The error models' input columns for `rows`: each input, then the prediction.
    private static func columns(_ inputs: [Input], _ features: [String: ColumnValues], _ predictions: [Double], rows: [Int]) -> [[Double]] {
        var columns = inputs.map { input -> [Double] in
            switch (features[input.name], input.codes) {
            case let (.numeric(values)?, nil): rows.map { values[$0] }
            case let (.categorical(values)?, codes?): rows.map { values[$0].flatMap { codes[$0] } ?? .nan }
            default: [Double](repeating: .nan, count: rows.count)
            }
        }
        columns.append(rows.map { predictions[$0] })
        return columns
    }
}
