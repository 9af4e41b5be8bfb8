/// Error metrics of a regressor, as scikit-learn computes them.
public struct RegressionMetrics: Sendable, Equatable, Codable {
    public let count: Int
    /// Root mean squared error.
    public let rmse: Double
    /// Mean absolute error.
    public let mae: Double
    /// Mean absolute percentage error as a fraction, each |y − ŷ| divided by max(|y|, ε)
    /// (ε the double's machine epsilon), as `sklearn.metrics.mean_absolute_percentage_error`.
    public let mape: Double
    /// Coefficient of determination; `nil` for fewer than two rows. A constant target gives 1
    /// when predicted perfectly and 0 otherwise, as scikit-learn's `force_finite=True`.
    public let r2: Double?

    /// - Throws: ``StatisticsError`` when lengths differ or the input is empty.
    public init(targets: [Double], predictions: [Double]) throws(StatisticsError) {
        try StatisticsError.checkPaired(targets.count, predictions.count)
        let n = Double(targets.count)
        var squared = KahanSum(), absolute = KahanSum(), percentage = KahanSum(), targetSum = KahanSum()
        for (y, prediction) in zip(targets, predictions) {
            let error = y - prediction
            squared.add(error * error)
            absolute.add(abs(error))
            percentage.add(abs(error) / max(abs(y), Double.ulpOfOne))
            targetSum.add(y)
        }
        count = targets.count
        rmse = (squared.value / n).squareRoot()
        mae = absolute.value / n
        mape = percentage.value / n
        if targets.count < 2 {
            r2 = nil
        } else {
            let mean = targetSum.value / n
            var total = KahanSum()
            for y in targets { total.add((y - mean) * (y - mean)) }
            if total.value == 0 {
                r2 = squared.value == 0 ? 1 : 0
            } else {
                r2 = 1 - squared.value / total.value
            }
        }
    }
}
