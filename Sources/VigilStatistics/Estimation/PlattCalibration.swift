import Foundation

/// Platt scaling: a score's calibrated probability is 1 / (1 + exp(a·score + b)), with `a` and
/// `b` fitted on labelled rows by maximum likelihood against Platt's smoothed targets
/// ((N₊ + 1)/(N₊ + 2) for a positive, 1/(N₋ + 2) for a negative), as scikit-learn's
/// `CalibratedClassifierCV(method="sigmoid")` fits them. Fewer parameters than isotonic
/// regression, so steadier on a small reference, but it can only bend scores along a sigmoid.
/// Fitted by Newton's method with a backtracking line search (Lin, Lin and Weng, 2007).
public struct PlattCalibration: Sendable, Equatable, Codable {
    public let a: Double
    public let b: Double

    /// Fits the calibration.
    ///
    /// - Throws: ``StatisticsError`` when the inputs differ in length, are empty, hold a label
    ///   other than 0 and 1, or a score that is not finite.
    public init(scores: [Double], labels: [Int]) throws(StatisticsError) {
        try StatisticsError.checkPaired(scores.count, labels.count)
        guard labels.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw StatisticsError(.invalidParameter, "labels must be 0 or 1") }
        guard scores.allSatisfy(\.isFinite) else { throw StatisticsError(.invalidParameter, "scores must be finite") }
        let positives = Double(labels.reduce(0, +)), negatives = Double(labels.count) - positives
        let targets = labels.map { $0 == 1 ? (positives + 1) / (positives + 2) : 1 / (negatives + 2) }

        /// The negative log-likelihood at (a, b), computed without overflow.
        func loss(_ a: Double, _ b: Double) -> Double {
            var sum = KahanSum()
            for (score, target) in zip(scores, targets) {
                let f = a * score + b
                sum.add(f >= 0 ? target * f + log1p(exp(-f)) : (target - 1) * f + log1p(exp(f)))
            }
            return sum.value
        }

        var a = 0.0, b = log((negatives + 1) / (positives + 1))
        var current = loss(a, b)
        for _ in 0..<100 {
            var gradient = (a: 0.0, b: 0.0), hessian = (aa: 1e-12, ab: 0.0, bb: 1e-12)
            for (score, target) in zip(scores, targets) {
                let f = a * score + b
                let p = f >= 0 ? exp(-f) / (1 + exp(-f)) : 1 / (1 + exp(f))  // P(positive) = 1 / (1 + e^f)
                let q = 1 - p
                let d = target - p
                gradient.a += score * d
                gradient.b += d
                let weight = p * q
                hessian.aa += score * score * weight
                hessian.ab += score * weight
                hessian.bb += weight
            }
            guard abs(gradient.a) >= 1e-10 || abs(gradient.b) >= 1e-10 else { break }
            let determinant = hessian.aa * hessian.bb - hessian.ab * hessian.ab
            let step = (a: -(hessian.bb * gradient.a - hessian.ab * gradient.b) / determinant,
                        b: -(-hessian.ab * gradient.a + hessian.aa * gradient.b) / determinant)
            var size = 1.0
            var moved = false
            while size >= 1e-10 {
                let candidate = loss(a + size * step.a, b + size * step.b)
                if candidate < current + 1e-4 * size * (gradient.a * step.a + gradient.b * step.b) {
                    (a, b, current) = (a + size * step.a, b + size * step.b, candidate)
                    moved = true
                    break
                }
                size /= 2
            }
            guard moved else { break }
        }
        self.a = a
        self.b = b
    }

    /// The calibrated probability of `score`.
    public func probability(_ score: Double) -> Double {
        let f = a * score + b
        return f >= 0 ? exp(-f) / (1 + exp(-f)) : 1 / (1 + exp(f))
    }

    /// Calibrated probabilities of `scores`.
    public func probabilities(_ scores: [Double]) -> [Double] { scores.map(probability) }
}
