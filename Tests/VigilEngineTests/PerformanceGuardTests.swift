import Foundation
import Testing
@testable import VigilEngine
import VigilStatistics
@testable import VigilStore
import VigilWorkflow

/// The default guards of `performance_drop`: no alert from a small or noisy window, an alert from
/// a real drop with enough labels.
@Suite("Performance rules that do not cry wolf")
struct PerformanceGuardTests {
    /// A window of `rows` labelled rows of a classifier whose labels agree with a prediction with
    /// probability `accuracy` (half the rows predicted positive), summarised as the monitor does.
    static func window(rows: Int, accuracy: Double, generator: inout SeededGenerator, reference: [WindowMetric]) async -> WindowReport {
        var predictions = CategoryColumn(), labels = CategoryColumn(), scores: [Double] = []
        for _ in 0..<rows {
            let positive = generator.uniform() < 0.5
            let correct = generator.uniform() < accuracy
            predictions.append(positive ? "1" : "0")
            labels.append(positive == correct ? "1" : "0")
            scores.append(positive ? 0.5 + generator.uniform() / 2 : generator.uniform() / 2)
        }
        let start = Date(timeIntervalSince1970: 1_764_000_000)
        let rows = WindowRows(
            start: start, end: start.addingTimeInterval(3_600), rowCount: rows, features: [:], typeMismatches: [:], predictions: predictions,
            scores: scores, labels: labels, latencies: Array(repeating: 10, count: rows), errors: Array(repeating: false, count: rows)
        )
        let data = MonitoredData(
            table: nil, timestamp: "ts", prediction: "prediction", label: "label", score: "score", requestID: "request_id",
            problemType: .classification, features: [], granularity: WorkflowDuration(seconds: 3_600), baseline: .previous, slices: []
        )
        let table = await ProfiledRows.profiling(rows, indices: nil, data: data)
        let metrics = PerformanceSummary(table: table, problem: .classification).metrics(slice: .overall) { name in
            reference.first { $0.metric == name }?.value
        }
        var report = WindowReport(start: start, end: start.addingTimeInterval(3_600), rows: rows.rowCount)
        for metric in metrics { report.metrics[metric.ruleName] = metric }
        return report
    }

    @Test("200 clean windows of 100 to 500 labels raise nothing with the default guards; a true 5-point F1 drop at 2,000 labels a window is caught within 2 windows")
    func guards() async throws {
        var generator = SeededGenerator(seed: 2026_1205)
        // The reference: the same classifier on 20,000 labelled rows.
        let reference = await Self.window(rows: 20_000, accuracy: 0.85, generator: &generator, reference: []).metrics.values.map { $0 }
        let rules = try JSONDecoder().decode(RuleSet.self, from: Data(#"{"performance_drop": {"metric": "f1", "by": 0.03}}"#.utf8))
        var falseAlarms: [String] = []
        for index in 0..<200 {
            let rows = 100 + (index * 37) % 401
            let window = await Self.window(rows: rows, accuracy: 0.85, generator: &generator, reference: reference)
            if let seen = rules.rules.first?.holds(window) { falseAlarms.append(seen) }
        }
        #expect(falseAlarms.isEmpty, "\(falseAlarms.count) false alarms: \(falseAlarms.prefix(3))")
        // Without the guards (no minimum, no significance), the same kind of windows would alarm.
        let unguarded = try JSONDecoder().decode(RuleSet.self, from: Data(#"{"performance_drop": {"metric": "f1", "by": 0.03, "min_samples": 1, "significance": 1}}"#.utf8))
        var noisy = 0
        for _ in 0..<200 {
            let window = await Self.window(rows: 100, accuracy: 0.85, generator: &generator, reference: reference)
            if unguarded.rules.first?.holds(window) != nil { noisy += 1 }
        }
        #expect(noisy > 10, "the unguarded rule alarmed \(noisy) times")

        // Accuracy 0.80 instead of 0.85 takes F1 down about 5 points.
        var caught: [Int] = []
        for trial in 0..<20 {
            for _ in 1...2 {
                let window = await Self.window(rows: 2_000, accuracy: 0.80, generator: &generator, reference: reference)
                if rules.rules.first?.holds(window) != nil {
                    caught.append(trial)
                    break
                }
            }
        }
        #expect(caught.count == 20, "caught within 2 windows in \(caught.count) of 20 trials")
    }

    @Test("estimate_gap holds when the realised value leaves its estimate's band by more than `by`, not on a small gap, few labels or a noisy window")
    func estimateGap() throws {
        let rules = try JSONDecoder().decode(RuleSet.self, from: Data(#"{"estimate_gap": {"metric": "accuracy", "by": 0.05}}"#.utf8))
        func window(realised: Double, estimated: Double, labels: Int, realisedError: Double = 0.005, estimateError: Double = 0.005) -> WindowReport {
            let start = Date(timeIntervalSince1970: 1_764_000_000)
            var report = WindowReport(start: start, end: start.addingTimeInterval(86_400), rows: 5_000)
            report.metrics["accuracy"] = WindowMetric(
                slice: .overall, metric: "accuracy", value: realised, labelledRows: labels, rowCount: 5_000,
                lower: realised - 3 * realisedError, upper: realised + 3 * realisedError
            )
            report.metrics["estimated_accuracy"] = WindowMetric(
                slice: .overall, metric: "accuracy", value: estimated, rowCount: 5_000, estimated: true,
                lower: estimated - 3 * estimateError, upper: estimated + 3 * estimateError
            )
            return report
        }
        let rule = try #require(rules.rules.first)
        #expect(rule.name == "estimate_gap")
        let broken = rule.holds(window(realised: 0.78, estimated: 0.90, labels: 4_000))
        #expect(broken?.contains("no longer say how often the model is right") == true, "\(broken ?? "nil")")
        #expect(rule.holds(window(realised: 0.88, estimated: 0.90, labels: 4_000)) == nil, "a gap under `by`")
        #expect(rule.holds(window(realised: 0.78, estimated: 0.90, labels: 50)) == nil, "too few labels")
        #expect(rule.holds(window(realised: 0.78, estimated: 0.90, labels: 4_000, realisedError: 0.04, estimateError: 0.03)) == nil, "within the noise")
        // Either way: realised better than its estimate breaks the calibration as much.
        #expect(rule.holds(window(realised: 0.97, estimated: 0.90, labels: 4_000)) != nil)
    }
}
