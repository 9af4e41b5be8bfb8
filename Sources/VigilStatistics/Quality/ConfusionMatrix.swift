/// Counts of (actual class, predicted class) pairs for a classifier with classes `0..<classCount`.
///
/// Rates follow scikit-learn with `zero_division=0`: a precision, recall or F1 whose denominator
/// is zero is 0. Matrices of the same shape add, so windows roll up without rereading rows.
public struct ConfusionMatrix: Sendable, Equatable, Codable {
    public let classCount: Int
    /// `counts[actual][predicted]`.
    public private(set) var counts: [[Int]]

    public init(classCount: Int) {
        self.classCount = classCount
        counts = Array(repeating: Array(repeating: 0, count: classCount), count: classCount)
    }

    /// - Throws: ``StatisticsError`` when lengths differ, the input is empty, or a class is outside `0..<classCount`.
    public init(labels: [Int], predictions: [Int], classCount: Int = 2) throws(StatisticsError) {
        try StatisticsError.checkPaired(labels.count, predictions.count)
        self.init(classCount: classCount)
        for (label, prediction) in zip(labels, predictions) {
            guard (0..<classCount).contains(label), (0..<classCount).contains(prediction) else {
                throw StatisticsError(.invalidParameter, "class \(max(label, prediction)) is outside 0..<\(classCount)")
            }
            counts[label][prediction] += 1
        }
    }

    public mutating func add(label: Int, prediction: Int, count: Int = 1) {
        counts[label][prediction] += count
    }

    /// The matrix of the union of both windows.
    public func merged(with other: ConfusionMatrix) -> ConfusionMatrix {
        precondition(classCount == other.classCount, "merging confusion matrices of different shapes")
        var result = self
        for row in 0..<classCount {
            for column in 0..<classCount { result.counts[row][column] += other.counts[row][column] }
        }
        return result
    }

    public var total: Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }
    public func truePositives(_ label: Int) -> Int { counts[label][label] }
    /// Rows whose actual class is `label`.
    public func support(_ label: Int) -> Int { counts[label].reduce(0, +) }
    /// Rows predicted as `label`.
    public func predicted(_ label: Int) -> Int { counts.reduce(0) { $0 + $1[label] } }

    public var accuracy: Double {
        let correct = (0..<classCount).reduce(0) { $0 + counts[$1][$1] }
        return ratio(correct, total)
    }

    public func precision(_ label: Int) -> Double { ratio(truePositives(label), predicted(label)) }
    public func recall(_ label: Int) -> Double { ratio(truePositives(label), support(label)) }

    /// F1 as 2·TP / (2·TP + FP + FN), the form scikit-learn uses.
    public func f1(_ label: Int) -> Double {
        let tp = truePositives(label)
        return ratio(2 * tp, predicted(label) + support(label))
    }

    /// Precision, recall or F1 averaged over classes.
    public func averaged(_ metric: ClassMetric, _ averaging: Averaging) -> Double {
        switch averaging.base {
        case let .binary(positive):
            return value(metric, positive)
        case .macro:
            return (0..<classCount).reduce(0.0) { $0 + value(metric, $1) } / Double(classCount)
        case .weighted:
            let total = self.total
            guard total > 0 else { return 0 }
            return (0..<classCount).reduce(0.0) { $0 + value(metric, $1) * Double(support($1)) } / Double(total)
        case .micro:
            let tp = (0..<classCount).reduce(0) { $0 + truePositives($1) }
            // Summed over classes, predicted and actual counts are both the total.
            switch metric {
            case .precision, .recall: return ratio(tp, total)
            case .f1: return ratio(2 * tp, 2 * total)
            }
        }
    }

    private func value(_ metric: ClassMetric, _ label: Int) -> Double {
        switch metric {
        case .precision: precision(label)
        case .recall: recall(label)
        case .f1: f1(label)
        }
    }

    private func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator == 0 ? 0 : Double(numerator) / Double(denominator)
    }
}

/// A per-class classification rate.
public enum ClassMetric: String, Sendable, Codable, CaseIterable {
    case precision, recall, f1
}

/// How per-class rates combine into one number, as scikit-learn's `average=`.
public struct Averaging: Sendable, Hashable {
    enum Base: Hashable, Sendable {
        case binary(positive: Int), macro, micro, weighted
    }
    let base: Base

    /// The rate of the positive class alone.
    public static func binary(positive: Int = 1) -> Averaging { Averaging(base: .binary(positive: positive)) }
    /// The unweighted mean over classes.
    public static let macro = Averaging(base: .macro)
    /// From the pooled counts of every class.
    public static let micro = Averaging(base: .micro)
    /// The mean over classes weighted by each class's support.
    public static let weighted = Averaging(base: .weighted)
}
