import Foundation
import PostgresNIO

/// The rows of one per-window metric table as text, newest windows first: what `vigil metrics`
/// shows and exports.
public struct MetricListing: Sendable {
    /// Which metric table.
    public enum Kind: String, CaseIterable, Sendable {
        case drift, performance, integrity, operational
    }

    /// One row: its window's start and its other cells, in ``columns`` order after `window_start`.
    public struct Row: Sendable {
        public let windowStart: Date
        public let cells: [String]
    }

    /// Column names, the first being `window_start`.
    public let columns: [String]
    public let rows: [Row]

    /// The query of `kind` for `model` from `since`: whole windows unless `slices`, for drift
    /// only what drifted when `driftedOnly`, and for performance the estimates beside the
    /// realised values (with their bands) when `estimated`.
    static func query(
        _ kind: Kind, model: String, since: Date, slices: Bool, driftedOnly: Bool, estimated: Bool = false, limit: Int
    ) -> (columns: [String], query: PostgresQuery) {
        let sliceFilter = slices ? "" : " AND slice_key IS NULL"
        let columns: [String]
        let sql: String
        switch kind {
        case .drift:
            columns = ["window_start", "slice", "feature", "role", "method", "score", "threshold", "p_value", "drifted", "reference", "ref_rows", "rows"]
            sql = """
                SELECT window_start_time, coalesce(slice_key || '=' || slice_value, ''), feature_name, column_role, method,
                       drift_score::text, drift_threshold::text, coalesce(p_value::text, ''), drifted::text, reference, reference_count::text, current_count::text
                FROM drift_metrics WHERE model = $1 AND window_start_time >= $2\(sliceFilter)\(driftedOnly ? " AND drifted" : "")
                ORDER BY window_start_time DESC, slice_key NULLS FIRST, slice_value, drift_score DESC LIMIT $3
                """
        case .performance:
            columns = ["window_start", "slice", "metric", "value", "baseline", "labelled", "rows", "proxy"] + (estimated ? ["estimated", "lower", "upper"] : [])
                + ["served_by"]
            sql = """
                SELECT window_start_time, coalesce(slice_key || '=' || slice_value, ''), metric, value::text, coalesce(baseline_value::text, ''),
                       labelled_rows::text, row_count::text, is_proxy::text\(estimated ? ", estimated::text, coalesce(lower::text, ''), coalesce(upper::text, '')" : ""),
                       \(Self.servedBy)
                FROM performance_metrics WHERE model = $1 AND window_start_time >= $2\(sliceFilter)\(estimated ? "" : " AND NOT estimated")
                ORDER BY window_start_time DESC, slice_key NULLS FIRST, slice_value, variant NULLS FIRST, metric, estimated LIMIT $3
                """
        case .integrity:
            columns = ["window_start", "slice", "feature", "rows", "missing_rate", "type_mismatches", "out_of_range", "out_of_domain", "unseen", "quarantined"]
            sql = """
                SELECT window_start_time, coalesce(slice_key || '=' || slice_value, ''), feature_name, row_count::text, missing_rate::text,
                       type_mismatches::text, out_of_range::text, out_of_domain::text, unseen_categories::text, quarantined_rows::text
                FROM integrity_metrics WHERE model = $1 AND window_start_time >= $2\(sliceFilter)
                ORDER BY window_start_time DESC, slice_key NULLS FIRST, slice_value, feature_name LIMIT $3
                """
        case .operational:
            columns = ["window_start", "slice", "metric", "value", "rows", "served_by"]
            sql = """
                SELECT window_start_time, coalesce(slice_key || '=' || slice_value, ''), metric, value::text, row_count::text, \(Self.servedBy)
                FROM operational_metrics WHERE model = $1 AND window_start_time >= $2\(sliceFilter)
                ORDER BY window_start_time DESC, slice_key NULLS FIRST, slice_value, variant NULLS FIRST, metric LIMIT $3
                """
        }
        var bindings = PostgresBindings()
        bindings.append(model)
        bindings.append(since)
        bindings.append(limit)
        return (columns, PostgresQuery(unsafeSQL: sql, binds: bindings))
    }

    /// Who answered a performance or operational row's requests: `v3` (one version served the
    /// window), `champion v3` or `canary v4` (a variant's own rows), or empty (mixed traffic).
    static let servedBy = "concat_ws(' ', variant, 'v' || nullif(model_version, ''))"
}

extension MetricsStore {
    /// Up to `limit` rows of the `kind` metric table for `model`, from windows starting at or
    /// after `since`, newest first.
    public func listing(
        _ kind: MetricListing.Kind, model: String, since: Date, slices: Bool, driftedOnly: Bool, estimated: Bool = false, limit: Int
    ) async throws -> MetricListing {
        let (columns, query) = MetricListing.query(kind, model: model, since: since, slices: slices, driftedOnly: driftedOnly, estimated: estimated, limit: limit)
        var rows: [MetricListing.Row] = []
        for try await row in try await database.client.query(query, logger: database.logger) {
            let cells = row.makeRandomAccess()
            let start = try cells[0].decode(Date.self)
            rows.append(MetricListing.Row(windowStart: start, cells: try (1..<columns.count).map { try cells[$0].decode(String.self) }))
        }
        return MetricListing(columns: columns, rows: rows)
    }
}
