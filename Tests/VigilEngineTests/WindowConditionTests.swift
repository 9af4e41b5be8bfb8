import Foundation
import Testing
@testable import VigilEngine
@testable import VigilStore

/// `when` conditions: expressions over a window's realised and estimated metrics, their bands and
/// the reference's, with a minimum of rows.
@Suite("Rule conditions over a window's metrics")
struct WindowConditionTests {
    static let start = Date(timeIntervalSince1970: 1_764_000_000)

    /// A window with the given metrics (by rule name), each estimated when its name says so.
    static func window(_ metrics: [(name: String, value: Double, baseline: Double?, band: Double?, rows: Int)]) -> WindowReport {
        var report = WindowReport(start: start, end: start.addingTimeInterval(3_600), rows: metrics.map(\.rows).max() ?? 0)
        for metric in metrics {
            let estimated = metric.name.hasPrefix("estimated_")
            report.metrics[metric.name] = WindowMetric(
                slice: .overall, metric: estimated ? String(metric.name.dropFirst("estimated_".count)) : metric.name, value: metric.value,
                baselineValue: metric.baseline, labelledRows: estimated ? 0 : metric.rows, rowCount: metric.rows, estimated: estimated,
                lower: metric.band.map { metric.value - 3 * $0 }, upper: metric.band.map { metric.value + 3 * $0 }
            )
        }
        return report
    }

    static func rules(_ json: String) throws -> RuleSet {
        try JSONDecoder().decode(RuleSet.self, from: Data(json.utf8))
    }

    static func holds(_ rules: RuleSet, _ window: WindowReport) -> [String] {
        rules.rules.compactMap { $0.holds(window) }
    }

    @Test("a metric compares as its value, only on enough rows: estimated_f1 < 0.85")
    func threshold() throws {
        let rules = try Self.rules(#"{"when": "estimated_f1 < 0.85"}"#)
        #expect(Self.holds(rules, Self.window([("estimated_f1", 0.80, 0.9, 0.01, 500)])).count == 1)
        #expect(Self.holds(rules, Self.window([("estimated_f1", 0.90, 0.9, 0.01, 500)])).isEmpty)
        // 50 rows is under the default minimum of 100: the metric reads as null.
        #expect(Self.holds(rules, Self.window([("estimated_f1", 0.50, 0.9, 0.05, 50)])).isEmpty)
        let small = try Self.rules(#"{"when": {"condition": "estimated_f1 < 0.85", "min_samples": 30}}"#)
        #expect(Self.holds(small, Self.window([("estimated_f1", 0.50, 0.9, 0.05, 50)])).count == 1)
        // A window without the metric: nothing holds, nothing throws.
        #expect(Self.holds(rules, Self.window([("f1", 0.5, 0.9, nil, 500)])).isEmpty)
    }

    @Test("estimated_drop(roc_auc) and drop(mae) are how much worse than the reference, whichever way the metric improves")
    func drops() throws {
        let rules = try Self.rules(#"{"when": ["estimated_drop(roc_auc) > 0.03", "drop(mae) > 0.2"]}"#)
        let worse = Self.holds(rules, Self.window([("estimated_roc_auc", 0.85, 0.90, 0.01, 400), ("mae", 1.5, 1.2, nil, 400)]))
        #expect(worse.count == 2, "\(worse)")
        let better = Self.holds(rules, Self.window([("estimated_roc_auc", 0.88, 0.90, 0.01, 400), ("mae", 1.0, 1.2, nil, 400)]))
        #expect(better.isEmpty, "\(better)")
    }

    @Test("bands: the estimate's upper bound below the reference's lower bound at the window's size, with the values in the reason")
    func bands() throws {
        let rules = try Self.rules(#"{"when": "estimated_roc_auc.upper < reference.roc_auc.lower"}"#)
        // Estimate 0.80 ± 0.03, reference 0.90 ± 0.03 (the estimate's sampling error): apart.
        let apart = Self.holds(rules, Self.window([("estimated_roc_auc", 0.80, 0.90, 0.01, 500)]))
        #expect(apart == ["estimated_roc_auc.upper < reference.roc_auc.lower (estimated_roc_auc 0.8 [0.77, 0.83] on 500 rows; reference.roc_auc 0.9 [0.87, 0.93])"], "\(apart)")
        // Estimate 0.86 ± 0.03: the bands overlap, so no alert although the value is lower.
        #expect(Self.holds(rules, Self.window([("estimated_roc_auc", 0.86, 0.90, 0.01, 500)])).isEmpty)
        // No band on the estimate: no reference band either, so the condition cannot hold.
        #expect(Self.holds(rules, Self.window([("estimated_roc_auc", 0.5, 0.90, nil, 500)])).isEmpty)
    }

    @Test("a condition that does not parse is a decoding error naming it")
    func parseError() {
        #expect(throws: DecodingError.self) { try Self.rules(#"{"when": "estimated_f1 <"}"#) }
    }
}
