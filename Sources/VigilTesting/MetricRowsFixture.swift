import Foundation
import VigilStore

/// Computed monitoring windows recorded straight through the metrics store, for tests of what
/// reads them (escalation, the API, metrics, the web view) without running the monitor.
public enum MetricRowsFixture {
    /// A computed window of `model` from `start`, an hour long, with `drift` scores per feature
    /// (drifted above 0.1) and realised `performance` metrics (on 300 labelled rows).
    public static func window(
        _ model: String, start: Date, drift: [(feature: String, score: Double)] = [], performance: [(metric: String, value: Double)] = [], in database: Database
    ) async throws {
        let end = start.addingTimeInterval(3_600)
        var metrics = WindowMetrics(
            signature: WindowSignature(start: start, end: end, rows: 300, labelled: 0, lastLabelAt: nil, quarantined: 0), workflow: "fixture", sampleRate: 1
        )
        metrics.drift = drift.map { feature, score in
            DriftMetric(
                slice: .overall, featureName: feature, columnRole: "feature", method: "wasserstein_normed", driftScore: score, driftThreshold: 0.1,
                pValue: 0.0001, drifted: score > 0.1, comparison: "previous", reference: "previous window", referenceStart: nil, referenceEnd: nil,
                referenceCount: 300, currentCount: 300, meanDelta: nil, nullRateDelta: 0, distinctCountDelta: nil, parameters: [:], binEdges: nil
            )
        }
        metrics.performance = performance.map { WindowMetric(slice: .overall, metric: $0.metric, value: $0.value, labelledRows: 300, rowCount: 300) }
        try await MetricsStore(database: database).record(metrics, model: model, runID: nil, now: end)
    }
}
