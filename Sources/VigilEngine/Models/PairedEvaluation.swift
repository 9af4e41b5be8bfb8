import Foundation
import VigilStatistics
import VigilStore

/// Champion and challenger outcomes on the same labelled requests, and the judgement on them.
struct PairedEvaluation {
    /// One request: its label and both models' predictions (as text).
    struct Pair {
        let label: String
        let champion: String
        let challenger: String
    }

    let pairs: [Pair]
    let metric: String
    /// The positive class: `1`, `true` or `yes` when present, else the later label in order.
    let positive: String

    init(pairs: [Pair], metric: String) {
        self.pairs = pairs
        self.metric = metric
        positive = BuiltinModel.positiveClass(of: Set(pairs.map(\.label)))
    }

    static let classificationMetrics: Set = ["f1", "accuracy"]
    static let regressionMetrics: Set = ["rmse", "mae"]

    /// The metric's value for one side over the rows at `indices`.
    private func value(_ side: KeyPath<Pair, String>, _ indices: some Sequence<Int>) -> Double {
        if Self.regressionMetrics.contains(metric) {
            var total = 0.0, count = 0.0
            for index in indices {
                guard let truth = Double(pairs[index].label), let predicted = Double(pairs[index][keyPath: side]) else { continue }
                let error = predicted - truth
                total += metric == "rmse" ? error * error : abs(error)
                count += 1
            }
            guard count > 0 else { return .nan }
            return metric == "rmse" ? (total / count).squareRoot() : total / count
        }
        var tp = 0.0, fp = 0.0, fn = 0.0, correct = 0.0, count = 0.0
        for index in indices {
            let pair = pairs[index]
            let predicted = pair[keyPath: side]
            count += 1
            if predicted == pair.label { correct += 1 }
            if predicted == positive && pair.label == positive { tp += 1 }
            if predicted == positive && pair.label != positive { fp += 1 }
            if predicted != positive && pair.label == positive { fn += 1 }
        }
        if metric == "accuracy" { return count > 0 ? correct / count : .nan }
        return tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : 0
    }

    var higherIsBetter: Bool { !Self.regressionMetrics.contains(metric) }

    func championValue() -> Double { value(\.champion, pairs.indices) }
    func challengerValue() -> Double { value(\.challenger, pairs.indices) }

    /// How much better the challenger is (positive: better), on the rows at `indices`.
    func lift(_ indices: some Collection<Int>) -> Double {
        let difference = value(\.challenger, indices) - value(\.champion, indices)
        return higherIsBetter ? difference : -difference
    }

    /// The paired test: McNemar's on correctness for classifiers, the paired t-test on squared
    /// errors for regressors. `(name, p-value)`.
    func test() throws -> (String, Double) {
        if higherIsBetter {
            let result = try PairedComparison.mcNemar(firstCorrect: pairs.map { $0.champion == $0.label }, secondCorrect: pairs.map { $0.challenger == $0.label })
            return ("mcnemar", result.pValue)
        }
        let differences = pairs.compactMap { pair -> Double? in
            guard let truth = Double(pair.label), let first = Double(pair.champion), let second = Double(pair.challenger) else { return nil }
            return (first - truth) * (first - truth) - (second - truth) * (second - truth)
        }
        return ("paired_t", try PairedComparison.pairedT(differences: differences).pValue)
    }

    /// The share of requests both models answered alike (for regressors: within 1% of each other).
    var agreement: Double {
        guard !pairs.isEmpty else { return .nan }
        let same = pairs.filter { pair in
            if higherIsBetter { return pair.champion == pair.challenger }
            guard let first = Double(pair.champion), let second = Double(pair.challenger) else { return false }
            return abs(first - second) <= 0.01 * max(abs(first), abs(second), 1e-9)
        }.count
        return Double(same) / Double(pairs.count)
    }
}
