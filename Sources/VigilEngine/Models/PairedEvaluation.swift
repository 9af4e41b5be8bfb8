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
    /// Per pair, what a classification metric needs, as bits (see ``Outcome``): a bootstrap
    /// resample tallies these instead of comparing text thousands of times over.
    private let outcomes: [UInt8]
    /// Per pair, each side's error (squared for `rmse`, absolute for `mae`); `nil` when a value is not a number.
    private let errors: [(champion: Double, challenger: Double)?]

    /// Bits of ``outcomes``.
    private enum Outcome {
        static let labelPositive: UInt8 = 1
        static let championPositive: UInt8 = 2
        static let challengerPositive: UInt8 = 4
        static let championRight: UInt8 = 8
        static let challengerRight: UInt8 = 16
    }

    private enum Side { case champion, challenger }

    init(pairs: [Pair], metric: String) {
        self.pairs = pairs
        self.metric = metric
        let positive = BuiltinModel.positiveClass(of: Set(pairs.map(\.label)))
        self.positive = positive
        outcomes = pairs.map { pair in
            (pair.label == positive ? Outcome.labelPositive : 0) | (pair.champion == positive ? Outcome.championPositive : 0)
                | (pair.challenger == positive ? Outcome.challengerPositive : 0) | (pair.champion == pair.label ? Outcome.championRight : 0)
                | (pair.challenger == pair.label ? Outcome.challengerRight : 0)
        }
        let squared = metric == "rmse"
        errors = Self.regressionMetrics.contains(metric) ? pairs.map { pair in
            guard let truth = Double(pair.label), let first = Double(pair.champion), let second = Double(pair.challenger) else { return nil }
            return squared ? ((first - truth) * (first - truth), (second - truth) * (second - truth)) : (abs(first - truth), abs(second - truth))
        } : []
    }

    static let classificationMetrics: Set = ["f1", "accuracy"]
    static let regressionMetrics: Set = ["rmse", "mae"]

    /// The metric's value for one side over the rows at `indices`.
    private func value(_ side: Side, _ indices: some Sequence<Int>) -> Double {
        if Self.regressionMetrics.contains(metric) {
            var total = 0.0, count = 0.0
            for index in indices {
                guard let error = errors[index] else { continue }
                total += side == .champion ? error.champion : error.challenger
                count += 1
            }
            guard count > 0 else { return .nan }
            return metric == "rmse" ? (total / count).squareRoot() : total / count
        }
        var tally = [Int](repeating: 0, count: 32)
        for index in indices { tally[Int(outcomes[index])] += 1 }
        if metric == "accuracy" {
            // Exact matches, however many classes.
            let right = side == .champion ? Outcome.championRight : Outcome.challengerRight
            let count = tally.reduce(0, +)
            return count > 0 ? Double(tally.enumerated().filter { UInt8($0.offset) & right != 0 }.reduce(0) { $0 + $1.element }) / Double(count) : .nan
        }
        let predictedBit = side == .champion ? Outcome.championPositive : Outcome.challengerPositive
        var matrix = ConfusionMatrix(classCount: 2)
        for (code, times) in tally.enumerated() where times > 0 {
            let outcome = UInt8(code)
            matrix.add(label: outcome & Outcome.labelPositive != 0 ? 1 : 0, prediction: outcome & predictedBit != 0 ? 1 : 0, count: times)
        }
        return matrix.f1(1)
    }

    var higherIsBetter: Bool { !Self.regressionMetrics.contains(metric) }

    func championValue() -> Double { value(.champion, pairs.indices) }
    func challengerValue() -> Double { value(.challenger, pairs.indices) }

    /// How much better the challenger is (positive: better), on the rows at `indices`.
    func lift(_ indices: some Collection<Int>) -> Double {
        let difference = value(.challenger, indices) - value(.champion, indices)
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
