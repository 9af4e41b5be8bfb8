/// A monotone map from a classifier's scores to calibrated probabilities, fitted on labelled
/// reference data by isotonic regression (pool adjacent violators), as scikit-learn's
/// `IsotonicRegression(out_of_bounds="clip")` fits it: tied scores are pooled first, the fitted
/// steps are kept by their end points, and a score between two of them is interpolated linearly
/// (one outside the fitted range takes the nearest end's value).
public struct IsotonicCalibration: Sendable, Equatable, Codable {
    /// The fitted points, scores rising; probabilities never fall.
    public let scores: [Double]
    public let probabilities: [Double]

    /// Fits the map on `scores` with binary `labels` (1 for the positive class).
    ///
    /// - Throws: ``StatisticsError`` when the two differ in length, are empty, or hold a value
    ///   that is not finite or a label other than 0 and 1.
    public init(scores: [Double], labels: [Int]) throws(StatisticsError) {
        try StatisticsError.checkPaired(scores.count, labels.count)
        guard scores.allSatisfy(\.isFinite) else { throw StatisticsError(.invalidParameter, "calibration scores must be finite numbers") }
        guard labels.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw StatisticsError(.invalidParameter, "calibration labels must be 0 or 1") }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        // Tied scores pooled into one point weighted by their count.
        var x: [Double] = [], y: [Double] = [], weight: [Double] = []
        for index in order {
            let label = Double(labels[index])
            if let last = x.last, last == scores[index] {
                y[y.count - 1] += label
                weight[weight.count - 1] += 1
            } else {
                x.append(scores[index])
                y.append(label)
                weight.append(1)
            }
        }
        for index in y.indices { y[index] /= weight[index] }
        // Pool adjacent violators: blocks of (mean, weight, first point, last point).
        var means: [Double] = [], weights: [Double] = [], firsts: [Int] = [], lasts: [Int] = []
        for index in x.indices {
            means.append(y[index]); weights.append(weight[index]); firsts.append(index); lasts.append(index)
            while means.count > 1, means[means.count - 2] > means[means.count - 1] {
                let total = weights[weights.count - 2] + weights[weights.count - 1]
                let mean = (means[means.count - 2] * weights[weights.count - 2] + means[means.count - 1] * weights[weights.count - 1]) / total
                means.removeLast(); weights.removeLast(); firsts.removeLast()
                let last = lasts.removeLast()
                means[means.count - 1] = mean
                weights[weights.count - 1] = total
                lasts[lasts.count - 1] = last
            }
        }
        // Each block's first and last score, so that values between blocks interpolate.
        var fittedScores: [Double] = [], fittedProbabilities: [Double] = []
        for block in means.indices {
            fittedScores.append(x[firsts[block]]); fittedProbabilities.append(means[block])
            if lasts[block] != firsts[block] {
                fittedScores.append(x[lasts[block]]); fittedProbabilities.append(means[block])
            }
        }
        self.scores = fittedScores
        probabilities = fittedProbabilities
    }

    /// The calibrated probability of `score`.
    public func probability(_ score: Double) -> Double {
        guard let first = scores.first, let last = scores.last else { return 0.5 }
        if score <= first { return probabilities[0] }
        if score >= last { return probabilities[probabilities.count - 1] }
        // The first fitted score above `score`.
        var low = 0, high = scores.count - 1
        while low < high {
            let middle = (low + high) / 2
            if scores[middle] <= score { low = middle + 1 } else { high = middle }
        }
        let (x0, x1, y0, y1) = (scores[low - 1], scores[low], probabilities[low - 1], probabilities[low])
        return x1 == x0 ? y1 : y0 + (y1 - y0) * (score - x0) / (x1 - x0)
    }

    /// Calibrated probabilities of `scores`.
    public func probabilities(_ scores: [Double]) -> [Double] { scores.map(probability) }
}

extension IsotonicCalibration {
    /// Whether calibrating `scores` makes them more faithful, as NannyML decides before it
    /// calibrates: no for a single class or near-perfect ranking (ROC AUC above 0.999); else, over
    /// ten folds (every tenth row, a deterministic stand-in for NannyML's seeded shuffle), a map
    /// fitted on the other nine calibrates each, and the pooled held-out expected calibration error
    /// (ten bins of equal counts) must fall. Well-calibrated scores are left alone rather than
    /// made step-shaped by a map that only adds noise.
    public static func improves(scores: [Double], labels: [Int]) throws(StatisticsError) -> Bool {
        try StatisticsError.checkPaired(scores.count, labels.count)
        guard Set(labels).count == 2, scores.count >= 40 else { return false }
        if let auc = try? ProbabilisticMetrics.rocAUC(labels: labels, scores: scores), auc > 0.999 { return false }
        let folds = 10
        var held: [(label: Int, raw: Double, calibrated: Double)] = []
        for fold in 0..<folds {
            let train = scores.indices.filter { $0 % folds != fold }, test = scores.indices.filter { $0 % folds == fold }
            let map = try IsotonicCalibration(scores: train.map { scores[$0] }, labels: train.map { labels[$0] })
            held += test.map { (labels[$0], scores[$0], map.probability(scores[$0])) }
        }
        return equalCountError(held.map { ($0.label, $0.calibrated) }) < equalCountError(held.map { ($0.label, $0.raw) })
    }

    /// Expected calibration error over ten bins of equal counts of the rows sorted by probability
    /// (the last bin takes the remainder), as NannyML measures it.
    static func equalCountError(_ rows: [(label: Int, probability: Double)]) -> Double {
        let sorted = rows.sorted { $0.probability < $1.probability }
        let bins = min(10, sorted.count / 2), width = sorted.count / max(bins, 1)
        var error = 0.0
        for bin in 0..<bins {
            let slice = sorted[(bin * width)..<(bin == bins - 1 ? sorted.count : (bin + 1) * width)]
            let probability = slice.map(\.probability).reduce(0, +) / Double(slice.count)
            let share = Double(slice.filter { $0.label == 1 }.count) / Double(slice.count)
            error += Double(slice.count) / Double(sorted.count) * abs(probability - share)
        }
        return error
    }
}
