import Foundation
import VigilStatistics
import VigilStore

/// A classifier's performance estimator as the monitor keeps it with a baseline, fitted on the
/// baseline's labelled rows: for a binary model, on its scores, with which class is the positive
/// one; for a multiclass model (rows with class probabilities and three or more classes), on its
/// probabilities, with the classes in order.
struct ScoreEstimator: Sendable, Codable {
    /// Binary: the positive class and the estimator of its scores.
    let positiveClass: String?
    let estimator: PerformanceEstimator?
    /// Multiclass: the classes, in the estimator's order, and the estimator.
    let classes: [String]?
    let multiclass: MulticlassPerformanceEstimator?

    /// Fewest labelled rows a baseline needs for an estimator (two chunks of 30).
    static let minimumRows = 60

    /// Fits on the labelled rows of `table`; `nil` with too few rows, a class never labelled,
    /// or rows that say nothing of their confidence.
    init?(fittedOn table: ProfiledRows) {
        if let fitted = Self.multiclass(table) {
            (positiveClass, estimator, classes, multiclass) = (nil, nil, fitted.classes, fitted.estimator)
            return
        }
        var rows: [(label: String, prediction: String, score: Double)] = []
        for index in 0..<table.rowCount {
            guard let label = table.labels[index], let prediction = table.predictions[index], table.scores[index].isFinite else { continue }
            rows.append((label, prediction, table.scores[index]))
        }
        let classes = Array(Set(rows.map(\.label) + rows.map(\.prediction))).sorted()
        guard rows.count >= Self.minimumRows, let positive = PerformanceSummary.positiveClass(classes) else { return nil }
        let labels = rows.map { $0.label == positive ? 1 : 0 }
        guard labels.contains(0), labels.contains(1),
              let estimator = try? PerformanceEstimator(scores: rows.map(\.score), predictions: rows.map { $0.prediction == positive ? 1 : 0 }, labels: labels)
        else { return nil }
        (positiveClass, self.estimator, self.classes, multiclass) = (positive, estimator, nil, nil)
    }

    /// A multiclass estimator fitted on the rows with probabilities over the same three or more
    /// classes, a prediction and a label among them; `nil` for anything else.
    private static func multiclass(_ table: ProfiledRows) -> (classes: [String], estimator: MulticlassPerformanceEstimator)? {
        guard !table.probabilities.isEmpty else { return nil }
        var counts: [[String]: Int] = [:]
        for case let row? in table.probabilities { counts[row.keys.sorted(), default: 0] += 1 }
        guard let classes = counts.max(by: { $0.value < $1.value })?.key, classes.count >= 3 else { return nil }
        var probabilities: [[Double]] = [], predictions: [Int] = [], labels: [Int] = []
        for index in 0..<table.rowCount {
            guard let row = table.probabilities[index], let vector = vector(row, classes),
                  let prediction = table.predictions[index].flatMap(classes.firstIndex), let label = table.labels[index].flatMap(classes.firstIndex)
            else { continue }
            probabilities.append(vector)
            predictions.append(prediction)
            labels.append(label)
        }
        guard probabilities.count >= minimumRows, Set(labels).count == classes.count,
              let estimator = try? MulticlassPerformanceEstimator(probabilities: probabilities, predictions: predictions, labels: labels)
        else { return nil }
        return (classes, estimator)
    }

    /// A row's probabilities in the classes' order, when it has every one of them and no other.
    private static func vector(_ row: [String: Double], _ classes: [String]) -> [Double]? {
        guard row.count == classes.count else { return nil }
        let values = classes.compactMap { row[$0] }
        return values.count == classes.count && values.allSatisfy(\.isFinite) ? values : nil
    }

    /// The estimated metrics of a window's (or slice's) rows, labelled or not, each with the
    /// realised value of the same metric on the reference as its baseline.
    func metrics(of table: ProfiledRows, slice: Slice, baseline: (String) -> Double?) -> [WindowMetric] {
        let estimates: [EstimatedMetric: PerformanceEstimator.Estimate]?
        if let multiclass, let classes {
            var probabilities: [[Double]] = [], predictions: [Int] = []
            for index in table.probabilities.indices {
                guard let row = table.probabilities[index], let vector = Self.vector(row, classes),
                      let prediction = table.predictions[index].flatMap(classes.firstIndex) else { continue }
                probabilities.append(vector)
                predictions.append(prediction)
            }
            estimates = probabilities.isEmpty ? nil : try? multiclass.estimate(probabilities: probabilities, predictions: predictions)
        } else if let estimator, let positiveClass {
            var scores: [Double] = [], predictions: [Int] = []
            for index in 0..<table.rowCount {
                guard let prediction = table.predictions[index], table.scores[index].isFinite else { continue }
                scores.append(table.scores[index])
                predictions.append(prediction == positiveClass ? 1 : 0)
            }
            estimates = scores.isEmpty ? nil : try? estimator.estimate(scores: scores, predictions: predictions)
        } else {
            estimates = nil
        }
        guard let estimates else { return [] }
        return EstimatedMetric.allCases.compactMap { metric in
            guard let estimate = estimates[metric] else { return nil }
            return WindowMetric(
                slice: slice, metric: metric.rawValue, value: estimate.value, baselineValue: baseline(metric.rawValue), labelledRows: 0,
                rowCount: table.rowCount, estimated: true, lower: estimate.lower, upper: estimate.upper
            )
        }
    }

    /// As stored with a baseline.
    func encoded() throws -> String {
        String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
    }

    static func decoded(_ text: String) throws -> ScoreEstimator {
        try JSONDecoder().decode(ScoreEstimator.self, from: Data(text.utf8))
    }
}
