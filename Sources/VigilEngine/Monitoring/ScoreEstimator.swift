import Foundation
import VigilStatistics
import VigilStore

/// A binary classifier's performance estimator as the monitor keeps it with a baseline: the
/// estimator fitted on the baseline's labelled, scored rows, and which class is the positive one.
struct ScoreEstimator: Sendable, Codable {
    let positiveClass: String
    let estimator: PerformanceEstimator

    /// Fewest labelled rows a baseline needs for an estimator (two chunks of 30).
    static let minimumRows = 60

    /// Fits on the labelled rows of `table` that have a prediction and a finite score; `nil` for
    /// anything but two classes with both labelled, or too few rows.
    init?(fittedOn table: ProfiledRows) {
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
        positiveClass = positive
        self.estimator = estimator
    }

    /// The estimated metrics of a window's (or slice's) rows, labelled or not, each with the
    /// realised value of the same metric on the reference as its baseline.
    func metrics(of table: ProfiledRows, slice: Slice, baseline: (String) -> Double?) -> [WindowMetric] {
        var scores: [Double] = [], predictions: [Int] = []
        for index in 0..<table.rowCount {
            guard let prediction = table.predictions[index], table.scores[index].isFinite else { continue }
            scores.append(table.scores[index])
            predictions.append(prediction == positiveClass ? 1 : 0)
        }
        guard !scores.isEmpty, let estimates = try? estimator.estimate(scores: scores, predictions: predictions) else { return [] }
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
