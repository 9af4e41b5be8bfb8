import Foundation
import VigilStatistics
import VigilStore

/// A model's quality over a period: classification metrics pooled over every labelled request the
/// model answered (one confusion matrix, so a quiet hour weighs less than a busy one), other
/// metrics averaged over the monitoring windows in the period.
struct QualityReader: Sendable {
    let model: String
    let metric: String
    let windows: [WindowReport]
    let data: ServingData

    static let pooled: Set = ["f1", "accuracy", "precision", "recall"]

    /// How much worse `value` is than `reference` (positive: worse).
    func worsening(from reference: Double, to value: Double) -> Double {
        RuleSet.lowerIsBetter.contains(metric) ? value - reference : reference - value
    }

    /// The metric over `[from, to)`, or `nil` without labelled traffic.
    func value(from: Date, to: Date) async throws -> Double? {
        guard from < to else { return nil }
        guard Self.pooled.contains(metric) else {
            let values = windows.filter { $0.start >= from && $0.end <= to }.compactMap { window in
                window.metrics[metric].flatMap { $0.labelledRows > 0 ? $0.value : nil }
            }
            return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
        }
        let outcomes = try await data.outcomes(model: model, from: from, to: to)
        let total = outcomes.reduce(0) { $0 + $1.count }
        guard total > 0 else { return nil }
        // Accuracy is exact matches, however many classes; the rest are of the positive class.
        if metric == "accuracy" { return Double(outcomes.filter { $0.prediction == $0.label }.reduce(0) { $0 + $1.count }) / Double(total) }
        guard let positive = PerformanceSummary.positiveClass(Array(Set(outcomes.flatMap { [$0.prediction, $0.label] })).sorted()) else { return nil }
        var matrix = ConfusionMatrix(classCount: 2)
        for outcome in outcomes {
            matrix.add(label: outcome.label == positive ? 1 : 0, prediction: outcome.prediction == positive ? 1 : 0, count: outcome.count)
        }
        switch metric {
        case "precision": return matrix.precision(1)
        case "recall": return matrix.recall(1)
        default: return matrix.f1(1)
        }
    }
}
