import Foundation
import VigilStatistics
import VigilStore
import VigilWorkflow

/// A model's performance estimator as the monitor keeps it with a baseline, fitted on the
/// baseline's labelled rows: for a binary classifier, on its scores, with which class is the
/// positive one; for a multiclass model (rows with class probabilities and three or more
/// classes), on its probabilities, with the classes in order; for a regression, error models on
/// its features and predictions (direct loss estimation).
struct ReferenceEstimator: Sendable, Codable {
    /// Binary: the positive class and the estimator of its scores.
    let positiveClass: String?
    let estimator: PerformanceEstimator?
    /// Multiclass: the classes, in the estimator's order, and the estimator.
    let classes: [String]?
    let multiclass: MulticlassPerformanceEstimator?
    /// Regression: the estimator of its errors.
    let loss: DirectLossEstimator?
    /// The model version whose answers it was fitted on, when the rows say (Vigil's own log);
    /// its calibration is that version's, so another version's windows need their own.
    var modelVersion: String?

    /// Fewest labelled rows a baseline needs for an estimator (two chunks of 30).
    static let minimumRows = 60

    /// Fits on the labelled rows of `table`; `nil` with too few rows, a class never labelled,
    /// or a classifier's rows that say nothing of their confidence.
    init?(fittedOn table: ProfiledRows, data: MonitoredData) {
        let problem = data.problemType
        if problem == .regression {
            let predictions = table.predictions.map(Self.number), targets = table.labels.map(Self.number)
            guard zip(predictions, targets).lazy.filter({ $0.isFinite && $1.isFinite }).count >= Self.minimumRows,
                  let fitted = try? DirectLossEstimator(features: table.features, predictions: predictions, targets: targets)
            else { return nil }
            (positiveClass, estimator, classes, multiclass, loss) = (nil, nil, nil, nil, fitted)
            return
        }
        if let fitted = Self.multiclass(table) {
            (positiveClass, estimator, classes, multiclass, loss) = (nil, nil, fitted.classes, fitted.estimator, nil)
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
              let estimator = try? PerformanceEstimator(
                  scores: rows.map(\.score), predictions: rows.map { $0.prediction == positive ? 1 : 0 }, labels: labels, calibration: data.calibration ?? .isotonic
              )
        else { return nil }
        (positiveClass, self.estimator, self.classes, multiclass, loss) = (positive, estimator, nil, nil, nil)
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

    /// A regression's prediction or label as a number; NaN when missing or not a number.
    private static func number(_ text: String?) -> Double {
        text.flatMap(Double.init) ?? .nan
    }

    /// The estimated metrics of a window's (or slice's) rows, labelled or not, each with the
    /// realised value of the same metric on the reference as its baseline.
    func metrics(of table: ProfiledRows, slice: Slice, baseline: (String) -> Double?) -> [WindowMetric] {
        estimates(of: table).sorted { $0.key < $1.key }.map { metric, estimate in
            WindowMetric(
                slice: slice, metric: metric, value: estimate.value, baselineValue: baseline(metric), labelledRows: 0,
                rowCount: table.rowCount, estimated: true, lower: estimate.lower, upper: estimate.upper
            )
        }
    }

    /// Each metric's estimate on the rows, by its name; empty when no row can be estimated.
    private func estimates(of table: ProfiledRows) -> [String: PerformanceEstimator.Estimate] {
        if let loss {
            let estimates = try? loss.estimate(features: table.features, predictions: table.predictions.map(Self.number))
            return Dictionary(uniqueKeysWithValues: (estimates ?? [:]).map { ($0.key.rawValue, $0.value) })
        }
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
            // Only the scores, split by the predicted class, from the prediction column's codes
            // into arrays sized once: windows run to millions of rows.
            let column = table.predictions
            let positiveCode = column.categories.firstIndex(of: positiveClass).map { UInt32($0 + 1) }
            var predicted = (positives: 0, rows: 0)
            for index in 0..<table.rowCount where table.scores[index].isFinite {
                let code = column.code(at: index)
                if code != 0 { predicted.rows += 1 }
                if code == positiveCode { predicted.positives += 1 }
            }
            var predictedPositive: [Double] = [], predictedNegative: [Double] = []
            predictedPositive.reserveCapacity(predicted.positives)
            predictedNegative.reserveCapacity(predicted.rows - predicted.positives)
            for index in 0..<table.rowCount where table.scores[index].isFinite {
                let code = column.code(at: index)
                if code == positiveCode {
                    predictedPositive.append(table.scores[index])
                } else if code != 0 {
                    predictedNegative.append(table.scores[index])
                }
            }
            estimates = predicted.rows == 0
                ? nil : try? estimator.estimate(predictedPositive: consume predictedPositive, predictedNegative: consume predictedNegative)
        } else {
            estimates = nil
        }
        return Dictionary(uniqueKeysWithValues: (estimates ?? [:]).map { ($0.key.rawValue, $0.value) })
    }

    /// As stored with a baseline.
    func encoded() throws -> String {
        String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
    }

    static func decoded(_ text: String) throws -> ReferenceEstimator {
        try JSONDecoder().decode(ReferenceEstimator.self, from: Data(text.utf8))
    }
}
