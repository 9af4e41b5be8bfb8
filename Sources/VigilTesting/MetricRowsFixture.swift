import Foundation
import VigilStore

/// Computed monitoring windows written straight into the metric tables, for tests of what reads
/// them (escalation, the API, metrics, the web view) without running the monitor.
public enum MetricRowsFixture {
    /// A computed window of `model` from `start`, an hour long, with `drift` scores per feature
    /// (drifted above 0.1).
    public static func window(_ model: String, start: Date, drift: [(feature: String, score: Double)] = [], in database: Database) async throws {
        let end = start.addingTimeInterval(3_600)
        try await database.client.query("""
            INSERT INTO monitor_windows (model, window_start, window_end, workflow, row_count, labelled_count, quarantined, sample_rate, computed_at)
            VALUES (\(model), \(start), \(end), 'fixture', 300, 0, 0, 1, \(end)) ON CONFLICT DO NOTHING
            """)
        for (feature, score) in drift {
            try await database.client.query("""
                INSERT INTO drift_metrics (model, window_start_time, window_end_time, feature_name, column_role, method, drift_score, drift_threshold,
                    p_value, drifted, comparison, reference, reference_count, current_count, count_delta, null_rate_delta, computed_at)
                VALUES (\(model), \(start), \(end), \(feature), 'feature', 'wasserstein_normed', \(score), 0.1, 0.0001, \(score > 0.1),
                    'previous', 'previous window', 300, 300, 0, 0, \(end))
                """)
        }
    }
}
