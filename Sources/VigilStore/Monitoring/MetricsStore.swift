import Foundation
import VigilStatistics
import Logging
import PostgresNIO

/// Reads and writes the per-window metric tables (`drift_metrics`, `integrity_metrics`,
/// `performance_metrics`, `operational_metrics`, `business_metrics`), `window_profiles` and
/// `monitor_windows`. A window computed again replaces its rows in one transaction.
public struct MetricsStore: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }()

    private static func json<T: Encodable>(_ rows: [T]) throws -> String {
        String(decoding: try encoder.encode(rows), as: UTF8.self)
    }

    /// Rows of `model` quarantined at ingest from `start` up to `end`, by the column that failed
    /// its check (`*` for a row refused whole).
    public func quarantinedCounts(model: String, from start: Date, to end: Date) async throws -> [String: Int] {
        let rows = try await database.client.query("""
            SELECT coalesce(column_name, '*'), count(*)::int8 FROM quarantined_rows
            WHERE model = \(model) AND ts >= \(start) AND ts < \(end) GROUP BY 1
            """, logger: database.logger)
        var counts: [String: Int] = [:]
        for try await (column, count) in rows.decode((String, Int).self) { counts[column] = count }
        return counts
    }

    /// The windows already computed, with the signature each was computed from.
    public func computedWindows(model: String, since: Date) async throws -> [Date: WindowSignature] {
        let rows = try await database.client.query("""
            SELECT window_start, window_end, row_count, labelled_count, last_label_at, quarantined FROM monitor_windows
            WHERE model = \(model) AND window_start >= \(since)
            """, logger: database.logger)
        var windows: [Date: WindowSignature] = [:]
        for try await (start, end, rows, labelled, lastLabel, quarantined) in rows.decode((Date, Date, Int, Int, Date?, Int).self) {
            windows[start] = WindowSignature(start: start, end: end, rows: rows, labelled: labelled, lastLabelAt: lastLabel, quarantined: quarantined)
        }
        return windows
    }

    /// Replaces everything stored for the window with `metrics`.
    public func record(_ metrics: WindowMetrics, model: String, runID: Int?, now: Date) async throws {
        let window = metrics.signature
        let (start, end) = (window.start, window.end)
        let drift = try Self.json(metrics.drift), integrity = try Self.json(metrics.integrity)
        let performance = try Self.json(metrics.performance), operational = try Self.json(metrics.operational)
        let business = try Self.json(metrics.business), profiles = try Self.json(metrics.profiles)
        let reliability = try Self.json(metrics.reliability)
        let multivariate = try Self.json(metrics.multivariate), drivers = try Self.json(metrics.storedDrivers)
        let rate = metrics.sampleRate
        try await database.transaction { connection in
            for table in [
                "drift_metrics", "integrity_metrics", "performance_metrics", "operational_metrics", "business_metrics", "reliability_curves",
                "multivariate_drift", "drift_drivers",
            ] {
                try await connection.query(PostgresQuery(unsafeSQL: """
                    DELETE FROM \(table) WHERE model = $1 AND window_start_time = $2 AND window_end_time = $3
                    """, binds: Self.bindings(model, start, end)), logger: database.logger)
            }
            try await connection.query("""
                DELETE FROM window_profiles WHERE model = \(model) AND window_start = \(start) AND window_end = \(end)
                """, logger: database.logger)
            try await connection.query("""
                INSERT INTO drift_metrics (model, window_start_time, window_end_time, slice_key, slice_value, feature_name, column_role, method,
                    drift_score, drift_threshold, p_value, drifted, comparison, reference, reference_start, reference_end, reference_count,
                    current_count, count_delta, mean_delta, null_rate_delta, distinct_count_delta, parameters, bin_edges, sample_rate, computed_at)
                SELECT \(model), \(start), \(end), r.slice_key, r.slice_value, r.feature_name, r.column_role, r.method,
                    r.drift_score, r.drift_threshold, r.p_value, r.drifted, r.comparison, r.reference, r.reference_start, r.reference_end, r.reference_count,
                    r.current_count, r.count_delta, r.mean_delta, r.null_rate_delta, r.distinct_count_delta, r.parameters, r.bin_edges, \(rate), \(now)
                FROM jsonb_to_recordset(\(drift)::jsonb) AS r(slice_key text, slice_value text, feature_name text, column_role text, method text,
                    drift_score float8, drift_threshold float8, p_value float8, drifted boolean, comparison text, reference text,
                    reference_start timestamptz, reference_end timestamptz, reference_count int8, current_count int8, count_delta int8,
                    mean_delta float8, null_rate_delta float8, distinct_count_delta int, parameters jsonb, bin_edges float8[])
                """, logger: database.logger)
            try await connection.query("""
                INSERT INTO integrity_metrics (model, window_start_time, window_end_time, slice_key, slice_value, feature_name, row_count,
                    missing_count, missing_rate, type_mismatches, out_of_range, out_of_domain, unseen_categories, quarantined_rows, sample_rate, computed_at)
                SELECT \(model), \(start), \(end), r.slice_key, r.slice_value, r.feature_name, r.row_count, r.missing_count, r.missing_rate,
                    r.type_mismatches, r.out_of_range, r.out_of_domain, r.unseen_categories, r.quarantined_rows, \(rate), \(now)
                FROM jsonb_to_recordset(\(integrity)::jsonb) AS r(slice_key text, slice_value text, feature_name text, row_count int8,
                    missing_count int8, missing_rate float8, type_mismatches int8, out_of_range int8, out_of_domain int8, unseen_categories int8,
                    quarantined_rows int8)
                """, logger: database.logger)
            try await connection.query("""
                INSERT INTO performance_metrics (model, window_start_time, window_end_time, slice_key, slice_value, metric, value, baseline_value,
                    labelled_rows, row_count, is_proxy, estimated, lower, upper, model_version, variant, sample_rate, computed_at)
                SELECT \(model), \(start), \(end), r.slice_key, r.slice_value, r.metric, r.value, r.baseline_value, r.labelled_rows, r.row_count,
                    r.is_proxy, coalesce(r.estimated, false), r.lower, r.upper, r.model_version, r.variant, \(rate), \(now)
                FROM jsonb_to_recordset(\(performance)::jsonb) AS r(slice_key text, slice_value text, metric text, value float8,
                    baseline_value float8, labelled_rows int8, row_count int8, is_proxy boolean, estimated boolean, lower float8, upper float8,
                    model_version text, variant text)
                """, logger: database.logger)
            try await connection.query("""
                INSERT INTO operational_metrics (model, window_start_time, window_end_time, slice_key, slice_value, metric, value, row_count,
                    model_version, variant, sample_rate, computed_at)
                SELECT \(model), \(start), \(end), r.slice_key, r.slice_value, r.metric, r.value, r.row_count, r.model_version, r.variant, \(rate), \(now)
                FROM jsonb_to_recordset(\(operational)::jsonb) AS r(slice_key text, slice_value text, metric text, value float8, row_count int8,
                    model_version text, variant text)
                """, logger: database.logger)
            try await connection.query("""
                INSERT INTO multivariate_drift (model, window_start_time, window_end_time, slice_key, slice_value, method, value, lower, upper,
                    p_value, significance, drifted, reference_rows, current_rows, seed, computed_at)
                SELECT \(model), \(start), \(end), r.slice_key, r.slice_value, r.method, r.value, r.lower, r.upper, r.p_value, r.significance,
                    r.drifted, r.reference_rows, r.current_rows, r.seed, \(now)
                FROM jsonb_to_recordset(\(multivariate)::jsonb) AS r(slice_key text, slice_value text, method text, value float8, lower float8,
                    upper float8, p_value float8, significance float8, drifted boolean, reference_rows int8, current_rows int8, seed int8)
                """, logger: database.logger)
            try await connection.query("""
                INSERT INTO drift_drivers (model, window_start_time, window_end_time, slice_key, slice_value, rank, feature_name, share,
                    classifier_share, drift_share, drift_score, importance_share, reference_importance, current_importance, computed_at)
                SELECT \(model), \(start), \(end), r.slice_key, r.slice_value, r.rank, r.feature, r.share, r.classifier_share, r.drift_share,
                    r.drift_score, r.importance_share, r.reference_importance, r.current_importance, \(now)
                FROM jsonb_to_recordset(\(drivers)::jsonb) AS r(slice_key text, slice_value text, rank int, feature text, share float8,
                    classifier_share float8, drift_share float8, drift_score float8, importance_share float8, reference_importance float8,
                    current_importance float8)
                """, logger: database.logger)
            try await connection.query("""
                INSERT INTO reliability_curves (model, window_start_time, window_end_time, bin_lower, bin_upper, mean_probability, observed_rate, row_count, computed_at)
                SELECT \(model), \(start), \(end), r.lower, r.upper, r.mean_probability, r.observed_rate, r.count, \(now)
                FROM jsonb_to_recordset(\(reliability)::jsonb) AS r(lower float8, upper float8, mean_probability float8, observed_rate float8, count int8)
                """, logger: database.logger)
            try await connection.query("""
                INSERT INTO business_metrics (model, window_start_time, window_end_time, metric, value, row_count, computed_at)
                SELECT \(model), \(start), \(end), r.metric, r.value, r.row_count, \(now)
                FROM jsonb_to_recordset(\(business)::jsonb) AS r(metric text, value float8, row_count int8)
                """, logger: database.logger)
            try await connection.query("""
                INSERT INTO window_profiles (model, window_start, window_end, slice_key, slice_value, column_name, role, kind, profile)
                SELECT \(model), \(start), \(end), r.slice_key, r.slice_value, r.column_name, r.role, r.kind, r.profile::jsonb
                FROM jsonb_to_recordset(\(profiles)::jsonb) AS r(slice_key text, slice_value text, column_name text, role text, kind text, profile text)
                """, logger: database.logger)
            try await connection.query("""
                INSERT INTO monitor_windows (model, window_start, window_end, workflow, row_count, labelled_count, last_label_at, quarantined,
                    sample_rate, computed_at, first_computed_at, run_id)
                VALUES (\(model), \(start), \(end), \(metrics.workflow), \(window.rows), \(window.labelled), \(window.lastLabelAt), \(window.quarantined),
                    \(rate), \(now), \(now), \(runID))
                ON CONFLICT (model, window_start, window_end) DO UPDATE SET
                    workflow = excluded.workflow, row_count = excluded.row_count, labelled_count = excluded.labelled_count,
                    last_label_at = excluded.last_label_at, quarantined = excluded.quarantined, sample_rate = excluded.sample_rate,
                    computations = monitor_windows.computations + 1, computed_at = excluded.computed_at, run_id = excluded.run_id
                """, logger: database.logger)
        }
    }

    private static func bindings(_ model: String, _ start: Date, _ end: Date) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(model)
        bindings.append(start)
        bindings.append(end)
        return bindings
    }

    /// The stored profiles of a window (every slice and column), or empty when it was not computed.
    public func profiles(model: String, start: Date, end: Date) async throws -> [StoredProfile] {
        let rows = try await database.client.query("""
            SELECT slice_key, slice_value, column_name, role, kind, profile::text FROM window_profiles
            WHERE model = \(model) AND window_start = \(start) AND window_end = \(end)
            """, logger: database.logger)
        var profiles: [StoredProfile] = []
        for try await (key, value, column, role, kind, profile) in rows.decode((String?, String?, String, String, String, String).self) {
            profiles.append(StoredProfile(slice: Slice(key: key, value: value), columnName: column, role: role, kind: kind, profile: profile))
        }
        return profiles
    }

    /// The whole-window profiles of every computed window inside [start, end), with each window's start.
    public func profiles(model: String, within start: Date, _ end: Date) async throws -> [(windowStart: Date, profile: StoredProfile)] {
        let rows = try await database.client.query("""
            SELECT window_start, column_name, role, kind, profile::text FROM window_profiles
            WHERE model = \(model) AND window_start >= \(start) AND window_end <= \(end) AND slice_key IS NULL
            ORDER BY window_start
            """, logger: database.logger)
        var profiles: [(Date, StoredProfile)] = []
        for try await (windowStart, column, role, kind, profile) in rows.decode((Date, String, String, String, String).self) {
            profiles.append((windowStart, StoredProfile(slice: .overall, columnName: column, role: role, kind: kind, profile: profile)))
        }
        return profiles
    }

    /// The performance metrics of a window (every slice), for a later window's baseline values.
    public func performance(model: String, start: Date, end: Date) async throws -> [WindowMetric] {
        let rows = try await database.client.query("""
            SELECT slice_key, slice_value, metric, value, labelled_rows, row_count, is_proxy FROM performance_metrics
            WHERE model = \(model) AND window_start_time = \(start) AND window_end_time = \(end) AND NOT estimated AND variant IS NULL
            """, logger: database.logger)
        var metrics: [WindowMetric] = []
        for try await (key, value, metric, number, labelled, count, proxy) in rows.decode((String?, String?, String, Double, Int, Int, Bool).self) {
            metrics.append(WindowMetric(slice: Slice(key: key, value: value), metric: metric, value: number, labelledRows: labelled, rowCount: count, isProxy: proxy))
        }
        return metrics
    }

    /// A fixed baseline's cached profiles, performance and performance estimator (JSON, as the
    /// engine encoded it), when computed from `rows` rows.
    public func baseline(model: String, name: String) async throws
        -> (rows: Int, profiles: [StoredProfile], performance: [WindowMetric], estimator: String?, sample: String?)? {
        let rows = try await database.client.query("""
            SELECT row_count, profiles::text, performance::text, estimator::text, sample::text FROM baseline_profiles
            WHERE model = \(model) AND baseline = \(name)
            """, logger: database.logger)
        for try await (count, profiles, performance, estimator, sample) in rows.decode((Int, String, String, String?, String?).self) {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return (
                count, try decoder.decode([StoredProfile].self, from: Data(profiles.utf8)),
                (try? decoder.decode([WindowMetric].self, from: Data(performance.utf8))) ?? [], estimator, sample
            )
        }
        return nil
    }

    /// The performance estimator of the model's most recently computed fixed baseline, for
    /// workflows compared with a moving reference (previous or seasonal windows), which has none.
    public func latestEstimator(model: String) async throws -> String? {
        let rows = try await database.client.query("""
            SELECT estimator::text FROM baseline_profiles WHERE model = \(model) AND estimator IS NOT NULL ORDER BY computed_at DESC LIMIT 1
            """, logger: database.logger)
        for try await estimator in rows.decode(String.self) { return estimator }
        return nil
    }

    /// The newest performance estimator kept for one version of the model (its JSON, whose
    /// `modelVersion` names the version whose answers it was fitted on).
    public func estimator(model: String, version: String) async throws -> String? {
        let rows = try await database.client.query("""
            SELECT estimator::text FROM baseline_profiles
            WHERE model = \(model) AND estimator ->> 'modelVersion' = \(version) ORDER BY computed_at DESC LIMIT 1
            """, logger: database.logger)
        for try await estimator in rows.decode(String.self) { return estimator }
        return nil
    }

    /// Stores a baseline's profiles, performance, estimator and drawn rows (`sample`, JSON),
    /// replacing what was kept under its name.
    public func saveBaseline(
        model: String, name: String, rows: Int, profiles: [StoredProfile], performance: [WindowMetric], estimator: String? = nil,
        sample: String? = nil, now: Date
    ) async throws {
        let profilesJSON = try Self.json(profiles), performanceJSON = try Self.json(performance)
        try await database.client.query("""
            INSERT INTO baseline_profiles (model, baseline, row_count, profiles, performance, estimator, sample, computed_at)
            VALUES (\(model), \(name), \(rows), \(profilesJSON)::jsonb, \(performanceJSON)::jsonb, \(estimator)::jsonb, \(sample)::jsonb, \(now))
            ON CONFLICT (model, baseline) DO UPDATE SET row_count = excluded.row_count, profiles = excluded.profiles,
                performance = excluded.performance, estimator = excluded.estimator, sample = excluded.sample, computed_at = excluded.computed_at
            """, logger: database.logger)
    }
}

/// The whole-window metrics of one computed window, as rules read them.
public struct WindowReport: Sendable {
    public let start: Date
    public let end: Date
    /// The window's rows (a slice's report: the slice's rows).
    public var rows: Int
    public var drift: [DriftMetric] = []
    /// Performance, operational and business metrics by name: the champion's own when a canary
    /// shared the window, else the window's whole traffic.
    public var metrics: [String: WindowMetric] = [:]
    /// A canary's own performance and operational metrics by name, when one shared the window.
    public var canary: [String: WindowMetric] = [:]
    public var integrity: [IntegrityMetric] = []
    /// Multivariate drift of the window (or of the slice, for a slice's report), one per method.
    public var multivariate: [MultivariateMetric] = []
    /// The features driving the window's (or the slice's) drift, strongest first.
    public var drivers: [DriftDriver] = []
}

extension MetricsStore {
    /// The latest `count` computed windows of `model` (starting at `since` or later), newest
    /// first, with their whole-window metrics (the champion's own in a window a canary shared).
    public func recentWindows(model: String, count: Int, since: Date = .distantPast) async throws -> [WindowReport] {
        try await windows(model: model, count: count, since: since, sliceKey: nil)[nil] ?? []
    }

    /// The same windows as ``recentWindows(model:count:since:)``, for each value of the slicing
    /// expression `key` (as `data.slices` writes it): each value's windows newest first, holding
    /// that slice's own metrics, its `rows` the slice's rows. A window in which a value has no
    /// rows is left out of that value's list.
    public func recentSliceWindows(model: String, key: String, count: Int, since: Date = .distantPast) async throws -> [String: [WindowReport]] {
        var slices: [String: [WindowReport]] = [:]
        for (value, reports) in try await windows(model: model, count: count, since: since, sliceKey: key) {
            guard let value else { continue }
            slices[value] = reports
        }
        return slices
    }

    /// Windows by slice value (`nil` for the whole window when `sliceKey` is `nil`).
    private func windows(model: String, count: Int, since: Date, sliceKey: String?) async throws -> [String?: [WindowReport]] {
        var computed: [(start: Date, end: Date, rows: Int)] = []
        let windows = try await database.client.query("""
            SELECT window_start, window_end, row_count FROM monitor_windows WHERE model = \(model) AND window_start >= \(since)
            ORDER BY window_start DESC LIMIT \(count)
            """, logger: database.logger)
        for try await window in windows.decode((Date, Date, Int).self) { computed.append(window) }
        guard let oldest = computed.last?.start else { return [:] }
        var order: [Date: Int] = [:]
        for (position, window) in computed.enumerated() { order[window.start] = position }
        var reports: [String?: [Date: WindowReport]] = [:]
        /// The report of `value`'s slice in the window starting at `start`, made on first use.
        func update(_ value: String?, _ start: Date, _ change: (inout WindowReport) -> Void) {
            guard let position = order[start] else { return }
            let window = computed[position]
            var report = reports[value]?[start] ?? WindowReport(start: window.start, end: window.end, rows: sliceKey == nil ? window.rows : 0)
            change(&report)
            reports[value, default: [:]][start] = report
        }
        if sliceKey == nil { for window in computed { update(nil, window.start) { _ in } } }

        let decoder = JSONDecoder()
        let drift = try await database.client.query("""
            SELECT window_start_time, slice_value, feature_name, column_role, method, drift_score, drift_threshold, p_value, drifted,
                   reference_count, current_count, parameters::text
            FROM drift_metrics WHERE model = \(model) AND window_start_time >= \(oldest) AND slice_key IS NOT DISTINCT FROM \(sliceKey)
            """, logger: database.logger)
        for try await (start, value, feature, role, method, score, threshold, p, drifted, referenceCount, currentCount, parameters)
            in drift.decode((Date, String?, String, String, String, Double, Double, Double?, Bool, Int, Int, String?).self) {
            // Only slice rules read parameters (to correct p-values across slices).
            let decoded = sliceKey == nil ? [:] : parameters.flatMap { try? decoder.decode([String: Double].self, from: Data($0.utf8)) } ?? [:]
            update(value, start) { report in
                report.drift.append(DriftMetric(
                    slice: Slice(key: sliceKey, value: value), featureName: feature, columnRole: role, method: method, driftScore: score,
                    driftThreshold: threshold, pValue: p, drifted: drifted, comparison: "", reference: "", referenceStart: nil, referenceEnd: nil,
                    referenceCount: referenceCount, currentCount: currentCount, meanDelta: nil, nullRateDelta: 0, distinctCountDelta: nil,
                    parameters: decoded, binEdges: nil
                ))
            }
        }
        let metrics = try await database.client.query("""
            SELECT window_start_time, slice_value, CASE WHEN estimated THEN 'estimated_' || metric ELSE metric END, value, baseline_value,
                   labelled_rows, row_count, is_proxy, estimated, lower, upper, model_version, variant FROM performance_metrics
            WHERE model = \(model) AND window_start_time >= \(oldest) AND slice_key IS NOT DISTINCT FROM \(sliceKey)
            UNION ALL
            SELECT window_start_time, slice_value, metric, value, NULL, 0, row_count, false, false, NULL, NULL, model_version, variant
            FROM operational_metrics
            WHERE model = \(model) AND window_start_time >= \(oldest) AND slice_key IS NOT DISTINCT FROM \(sliceKey)
            UNION ALL
            SELECT window_start_time, NULL, metric, value, NULL, 0, row_count, false, false, NULL, NULL, NULL, NULL FROM business_metrics
            WHERE model = \(model) AND window_start_time >= \(oldest) AND value IS NOT NULL AND \(sliceKey)::text IS NULL
            ORDER BY 13 NULLS FIRST
            """, logger: database.logger)
        // Whole-window rows first, then a champion's own rows replace them.
        for try await (start, value, name, metricValue, baseline, labelled, rows, proxy, estimated, lower, upper, version, variant)
            in metrics.decode((Date, String?, String, Double, Double?, Int, Int, Bool, Bool, Double?, Double?, String?, String?).self) {
            let metric = WindowMetric(
                slice: Slice(key: sliceKey, value: value), metric: name, value: metricValue, baselineValue: baseline, labelledRows: labelled,
                rowCount: rows, isProxy: proxy, estimated: estimated, lower: lower, upper: upper, modelVersion: version, variant: variant
            )
            update(value, start) { report in
                if variant == "canary" { report.canary[name] = metric } else { report.metrics[name] = metric }
            }
        }
        let integrity = try await database.client.query("""
            SELECT window_start_time, slice_value, feature_name, row_count, missing_count, type_mismatches, out_of_range, out_of_domain,
                   unseen_categories, quarantined_rows
            FROM integrity_metrics WHERE model = \(model) AND window_start_time >= \(oldest) AND slice_key IS NOT DISTINCT FROM \(sliceKey)
            """, logger: database.logger)
        for try await (start, value, feature, rows, missing, mismatches, range, domain, unseen, quarantined)
            in integrity.decode((Date, String?, String, Int, Int, Int, Int, Int, Int, Int).self) {
            update(value, start) { report in
                report.integrity.append(IntegrityMetric(
                    slice: Slice(key: sliceKey, value: value), featureName: feature, rowCount: rows, missingCount: missing,
                    typeMismatches: mismatches, outOfRange: range, outOfDomain: domain, unseenCategories: unseen, quarantinedRows: quarantined
                ))
                if sliceKey != nil { report.rows = max(report.rows, rows) }
            }
        }
        let multivariate = try await database.client.query("""
            SELECT window_start_time, slice_value, method, value, lower, upper, p_value, significance, drifted, reference_rows, current_rows, seed
            FROM multivariate_drift
            WHERE model = \(model) AND window_start_time >= \(oldest) AND slice_key IS NOT DISTINCT FROM \(sliceKey) ORDER BY method
            """, logger: database.logger)
        for try await (start, value, method, statistic, lower, upper, p, significance, drifted, referenceRows, currentRows, seed)
            in multivariate.decode((Date, String?, String, Double, Double?, Double?, Double?, Double?, Bool, Int, Int, Int64).self) {
            update(value, start) { report in
                report.multivariate.append(MultivariateMetric(
                    slice: Slice(key: sliceKey, value: value), method: method, value: statistic, lower: lower, upper: upper, pValue: p,
                    significance: significance, drifted: drifted, referenceRows: referenceRows, currentRows: currentRows, seed: seed
                ))
            }
        }
        let drivers = try await database.client.query("""
            SELECT window_start_time, slice_value, feature_name, share, classifier_share, drift_share, drift_score, importance_share,
                reference_importance, current_importance FROM drift_drivers
            WHERE model = \(model) AND window_start_time >= \(oldest) AND slice_key IS NOT DISTINCT FROM \(sliceKey) ORDER BY rank
            """, logger: database.logger)
        for try await (start, value, feature, share, classifier, drift, score, importance, referenceImportance, currentImportance)
            in drivers.decode((Date, String?, String, Double, Double?, Double, Double?, Double?, Double?, Double?).self) {
            update(value, start) { report in
                report.drivers.append(DriftDriver(
                    feature: feature, share: share, classifierShare: classifier, driftShare: drift, driftScore: score,
                    importanceShare: importance, referenceImportance: referenceImportance, currentImportance: currentImportance
                ))
            }
        }
        return reports.mapValues { byStart in byStart.values.sorted { $0.start > $1.start } }
    }

    /// The reliability curves of `model`'s windows starting in [`from`, `to`], oldest first.
    public func reliabilityCurves(model: String, from: Date, to: Date) async throws -> [(start: Date, bins: [ProbabilisticMetrics.ReliabilityBin])] {
        let rows = try await database.client.query("""
            SELECT window_start_time, bin_lower, bin_upper, mean_probability, observed_rate, row_count FROM reliability_curves
            WHERE model = \(model) AND window_start_time BETWEEN \(from) AND \(to) ORDER BY window_start_time, bin_lower
            """, logger: database.logger)
        var curves: [(start: Date, bins: [ProbabilisticMetrics.ReliabilityBin])] = []
        for try await (start, lower, upper, probability, observed, count) in rows.decode((Date, Double, Double, Double, Double, Int).self) {
            let bin = ProbabilisticMetrics.ReliabilityBin(lower: lower, upper: upper, meanProbability: probability, observedRate: observed, count: count)
            if curves.last?.start == start { curves[curves.count - 1].bins.append(bin) } else { curves.append((start, [bin])) }
        }
        return curves
    }

    /// The windows of `model` starting in [`from`, `to`] that were first computed more than a
    /// window's length (and at least `grace`) after they ended: history back-filled after the
    /// fact, not detected live. Oldest first.
    public func backfilledWindows(model: String, from: Date, to: Date, grace: TimeInterval = 3_600) async throws -> [(start: Date, end: Date)] {
        let rows = try await database.client.query("""
            SELECT window_start, window_end FROM monitor_windows
            WHERE model = \(model) AND window_start BETWEEN \(from) AND \(to)
              AND first_computed_at > window_end + greatest(window_end - window_start, make_interval(secs => \(grace)))
            ORDER BY window_start
            """, logger: database.logger)
        var windows: [(start: Date, end: Date)] = []
        for try await window in rows.decode((Date, Date).self) { windows.append(window) }
        return windows
    }
}
