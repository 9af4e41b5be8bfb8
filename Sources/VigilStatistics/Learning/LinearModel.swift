import Foundation

/// A fitted linear model over encoded features: logistic regression for binary classification,
/// linear (ridge) regression for regression. Both fit by exact methods (Newton–IRLS, normal
/// equations), so the same rows always give the same model.
public struct LinearModel: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case logistic = "logistic_regression"
        case linear = "linear_regression"
    }

    public let kind: Kind
    public let encoding: FeatureEncoding
    /// One weight per encoded column.
    public let weights: [Double]
    public let intercept: Double
    /// The L2 penalty it was fitted with.
    public let l2: Double

    /// The positive-class probability (logistic) or the prediction (linear) for one row.
    public func predict(_ row: [String: FeatureValue]) -> Double {
        let x = encoding.encode(row)
        var z = intercept
        for (weight, value) in zip(weights, x) { z += weight * value }
        return kind == .logistic ? Self.sigmoid(z) : z
    }

    static func sigmoid(_ z: Double) -> Double {
        z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
    }

    /// Fits a logistic regression of `labels` (0 or 1) on `rows` by Newton–IRLS with an L2
    /// penalty (not on the intercept), as scikit-learn's `LogisticRegression(C = 1 / l2)` with
    /// standardised inputs.
    public static func logistic(rows: [[String: FeatureValue]], labels: [Double], l2: Double = 1, maximumIterations: Int = 100) throws(StatisticsError) -> LinearModel {
        try StatisticsError.checkPaired(rows.count, labels.count)
        guard labels.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw StatisticsError(.invalidParameter, "logistic regression needs labels 0 or 1") }
        guard Set(labels).count == 2 else { throw StatisticsError(.invalidParameter, "logistic regression needs both classes among the labels") }
        let encoding = FeatureEncoding(fitting: rows)
        let x = rows.map { [1] + encoding.encode($0) }
        let width = encoding.width + 1
        var w = [Double](repeating: 0, count: width)
        for _ in 0..<maximumIterations {
            var gradient = [Double](repeating: 0, count: width)
            var hessian = [Double](repeating: 0, count: width * width)
            for (row, label) in zip(x, labels) {
                var z = 0.0
                for j in 0..<width { z += w[j] * row[j] }
                let p = sigmoid(z)
                let weight = max(p * (1 - p), 1e-12)
                for j in 0..<width {
                    gradient[j] += (label - p) * row[j]
                    guard row[j] != 0 else { continue }
                    for k in j..<width where row[k] != 0 { hessian[j * width + k] += weight * row[j] * row[k] }
                }
            }
            for j in 1..<width {
                gradient[j] -= l2 * w[j]
                hessian[j * width + j] += l2
            }
            hessian[0] += 1e-9
            for j in 0..<width { for k in 0..<j { hessian[j * width + k] = hessian[k * width + j] } }
            let step = try solve(hessian, gradient, width)
            var largest = 0.0
            for j in 0..<width {
                w[j] += step[j]
                largest = max(largest, abs(step[j]))
            }
            if largest < 1e-10 { break }
        }
        return LinearModel(kind: .logistic, encoding: encoding, weights: Array(w.dropFirst()), intercept: w[0], l2: l2)
    }

    /// Fits a ridge regression of `targets` on `rows` (the intercept is not penalised).
    public static func linear(rows: [[String: FeatureValue]], targets: [Double], l2: Double = 1) throws(StatisticsError) -> LinearModel {
        try StatisticsError.checkPaired(rows.count, targets.count)
        let encoding = FeatureEncoding(fitting: rows)
        let width = encoding.width + 1
        var normal = [Double](repeating: 0, count: width * width)
        var moment = [Double](repeating: 0, count: width)
        for (row, target) in zip(rows, targets) {
            let x = [1] + encoding.encode(row)
            for j in 0..<width {
                moment[j] += x[j] * target
                for k in j..<width { normal[j * width + k] += x[j] * x[k] }
            }
        }
        for j in 1..<width { normal[j * width + j] += l2 }
        normal[0] += 1e-9
        for j in 0..<width { for k in 0..<j { normal[j * width + k] = normal[k * width + j] } }
        let w = try solve(normal, moment, width)
        return LinearModel(kind: .linear, encoding: encoding, weights: Array(w.dropFirst()), intercept: w[0], l2: l2)
    }

    /// Solves the symmetric positive-definite system `a x = b` by Cholesky decomposition.
    static func solve(_ a: [Double], _ b: [Double], _ n: Int) throws(StatisticsError) -> [Double] {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var sum = a[i * n + j]
                for k in 0..<j { sum -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard sum > 0 else { throw StatisticsError(.invalidParameter, "the training data do not determine the model (a singular system)") }
                    l[i * n + i] = sum.squareRoot()
                } else {
                    l[i * n + j] = sum / l[j * n + j]
                }
            }
        }
        var y = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var sum = b[i]
            for k in 0..<i { sum -= l[i * n + k] * y[k] }
            y[i] = sum / l[i * n + i]
        }
        var x = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var sum = y[i]
            for k in (i + 1)..<n { sum -= l[k * n + i] * x[k] }
            x[i] = sum / l[i * n + i]
        }
        return x
    }
}
