import Foundation
import Logging
import PostgresNIO
import VigilStatistics
import VigilWorkflow

/// Where a workflow's monitored rows are, as SQL: Vigil's own `inference_log` (joined with
/// `inference_labels`) or a user's table or view named in the workflow.
///
/// Names from the workflow become quoted identifiers, checked to be plain (dotted) names, never
/// pasted as SQL text. Values (model, times) are bound parameters.
public struct MonitoredSource: Sendable {
    public let model: String
    public let data: MonitoredData
    /// Roles whose rows are the model's served traffic (shadow rows duplicate requests).
    public var roles = ["champion", "canary"]

    /// The same columns in another table, such as a training baseline.
    public func reading(table: String) throws(StoreError) -> MonitoredSource {
        var data = data
        data.table = table
        return try MonitoredSource(model: model, data: data)
    }

    public init(model: String, data: MonitoredData) throws(StoreError) {
        self.model = model
        self.data = data
        if let table = data.table { _ = try Self.quotedName(table) }
        for column in [data.timestamp, data.prediction, data.requestID] + [data.label, data.score].compactMap({ $0 }) + data.features.map(\.name) {
            _ = try Self.quotedName(column, dotted: false)
        }
    }

    var isVigilLog: Bool { data.table == nil }

    /// A name from the workflow as a quoted identifier (`schema.table` → `"schema"."table"`).
    static func quotedName(_ name: String, dotted: Bool = true) throws(StoreError) -> String {
        let parts = dotted ? name.split(separator: ".", omittingEmptySubsequences: false).map(String.init) : [name]
        for part in parts {
            guard let first = part.unicodeScalars.first, first == "_" || CharacterSet.letters.contains(first),
                  part.unicodeScalars.allSatisfy({ $0 == "_" || CharacterSet.alphanumerics.contains($0) }), part.count <= 63
            else {
                throw StoreError(.invalidConfiguration, "'\(name)' is not a plain table or column name (letters, digits and _ only)")
            }
        }
        return parts.map { "\"\($0)\"" }.joined(separator: ".")
    }

    private func column(_ name: String) -> String { "t.\"\(name)\"" }

    /// FROM and the fixed part of WHERE; `$1` is the model for Vigil's log.
    var fromClause: String {
        if isVigilLog {
            return """
                FROM inference_log t LEFT JOIN inference_labels y ON y.model = t.model AND y.request_id = t.request_id
                WHERE t.model = $1 AND t.role = ANY($2)
                """
        }
        return "FROM \(try! Self.quotedName(data.table!)) t WHERE $1::text IS NOT NULL AND $2::text[] IS NOT NULL"
    }

    var timestampExpression: String { isVigilLog ? "t.ts" : column(data.timestamp) }
    var requestExpression: String { isVigilLog ? "t.request_id" : "\(column(data.requestID))::text" }
    var predictionExpression: String { isVigilLog ? "t.prediction" : "\(column(data.prediction))::text" }
    var labelExpression: String? { isVigilLog ? "y.label" : data.label.map { "\(column($0))::text" } }
    var labelReceivedExpression: String? { isVigilLog ? "y.received_at" : nil }
    var scoreExpression: String? { isVigilLog ? "t.score" : data.score.map { "\(column($0))::float8" } }
    var latencyExpression: String? { isVigilLog ? "t.latency_ms" : nil }
    var errorExpression: String? { isVigilLog ? "t.error" : nil }

    /// The SQL for a feature's value: float8 for numeric features, text otherwise. In Vigil's log
    /// a JSON value of the wrong type reads as NULL and is counted by `mismatchExpression`.
    func featureExpression(_ feature: ColumnSchema) -> String {
        let key = feature.name.replacingOccurrences(of: "'", with: "''")
        if isVigilLog {
            return feature.isNumeric
                ? "CASE WHEN jsonb_typeof(t.features -> '\(key)') = 'number' THEN (t.features -> '\(key)')::float8 END"
                : "(t.features ->> '\(key)')"
        }
        return feature.isNumeric ? "\(column(feature.name))::float8" : "\(column(feature.name))::text"
    }

    /// Rows whose value for a numeric feature is present but not a number (Vigil's log only).
    func mismatchExpression(_ feature: ColumnSchema) -> String {
        let key = feature.name.replacingOccurrences(of: "'", with: "''")
        guard isVigilLog, feature.isNumeric else { return "0" }
        return "count(*) FILTER (WHERE jsonb_typeof(t.features -> '\(key)') NOT IN ('number', 'null'))"
    }

    /// A deterministic sample of `rate` of the rows, by a hash of the request id.
    func samplingCondition(_ rate: Double) -> String {
        guard rate < 1 else { return "" }
        return " AND (hashtext(\(requestExpression)) & 2147483647) % 1000000 < \(Int((rate * 1_000_000).rounded()))"
    }
}

/// How much data a window holds now, to tell whether it must be computed again.
public struct WindowSignature: Sendable, Hashable {
    public let start: Date
    public let end: Date
    public let rows: Int
    public let labelled: Int
    public let lastLabelAt: Date?
    public let quarantined: Int
}

/// The rows of one window, column by column. Missing numbers are NaN; missing text is `nil`.
public struct WindowRows: Sendable {
    public let start: Date
    public let end: Date
    public let rowCount: Int
    public var features: [String: ColumnValues]
    /// Per numeric feature in Vigil's log: values present but not numbers.
    public var typeMismatches: [String: Int]
    public var predictions: [String?]
    public var scores: [Double]
    public var labels: [String?]
    public var latencies: [Double]
    public var errors: [Bool]
}

extension MonitoredSource {
    /// Per window in [since, until): rows, labels, latest label and quarantined rows.
    public func signatures(since: Date, until: Date, on database: Database) async throws -> [WindowSignature] {
        let granularity = Double(data.granularity.seconds)
        let bin = "date_bin(make_interval(secs => $5), \(timestampExpression), '1970-01-01 00:00:00+00')"
        let labelCount = labelExpression.map { "count(\($0))" } ?? "0"
        let lastLabel = labelReceivedExpression.map { "max(\($0))" } ?? "NULL::timestamptz"
        var bindings = PostgresBindings()
        bindings.append(model)
        bindings.append(roles)
        bindings.append(since)
        bindings.append(until)
        bindings.append(granularity)
        let query = PostgresQuery(unsafeSQL: """
            SELECT \(bin) AS w, count(*)::int8, (\(labelCount))::int8, \(lastLabel)
            \(fromClause) AND \(timestampExpression) >= $3 AND \(timestampExpression) < $4
            GROUP BY 1 ORDER BY 1
            """, binds: bindings)
        var windows: [Date: (Int, Int, Date?)] = [:]
        for try await (start, rows, labelled, lastLabel) in try await database.client.query(query, logger: database.logger)
            .decode((Date, Int, Int, Date?).self) {
            windows[start] = (rows, labelled, lastLabel)
        }
        var quarantined: [Date: Int] = [:]
        if isVigilLog {
            let rows = try await database.client.query("""
                SELECT date_bin(make_interval(secs => \(granularity)), ts, '1970-01-01 00:00:00+00'), count(*)::int8
                FROM quarantined_rows WHERE model = \(model) AND ts >= \(since) AND ts < \(until) GROUP BY 1
                """, logger: database.logger)
            for try await (start, count) in rows.decode((Date, Int).self) { quarantined[start] = count }
        }
        return Set(windows.keys).union(quarantined.keys).sorted().map { start in
            let (rows, labelled, lastLabel) = windows[start] ?? (0, 0, nil)
            return WindowSignature(
                start: start, end: start.addingTimeInterval(granularity), rows: rows, labelled: labelled,
                lastLabelAt: lastLabel, quarantined: quarantined[start] ?? 0
            )
        }
    }

    /// The rows of [start, end), sampled at `sampleRate`, in one scan. With `allTime`, every row
    /// of the source whatever its time (a baseline table need not have a timestamp column).
    public func rows(from start: Date, to end: Date, allTime: Bool = false, sampleRate: Double = 1, on database: Database) async throws -> WindowRows {
        let missingText = "E'\\x01'"
        var select = ["count(*)::int8"]
        for feature in data.features {
            select.append(feature.isNumeric
                ? "coalesce(array_agg(coalesce(\(featureExpression(feature)), 'NaN'::float8)), '{}')"
                : "coalesce(array_agg(coalesce(\(featureExpression(feature)), \(missingText))), '{}')")
            select.append("(\(mismatchExpression(feature)))::int8")
        }
        select.append("coalesce(array_agg(coalesce(\(predictionExpression), \(missingText))), '{}')")
        select.append("coalesce(array_agg(coalesce(\(scoreExpression ?? "NULL::float8"), 'NaN'::float8)), '{}')")
        select.append("coalesce(array_agg(coalesce(\(labelExpression ?? "NULL::text"), \(missingText))), '{}')")
        select.append("coalesce(array_agg(coalesce(\(latencyExpression ?? "NULL::float8"), 'NaN'::float8)), '{}')")
        select.append("coalesce(array_agg(coalesce(\(errorExpression ?? "false"), false)), '{}')")
        var bindings = PostgresBindings()
        bindings.append(model)
        bindings.append(roles)
        bindings.append(start)
        bindings.append(end)
        let query = PostgresQuery(unsafeSQL: """
            SELECT \(select.joined(separator: ",\n       "))
            \(fromClause) AND \(allTime ? "$3::timestamptz IS NOT NULL AND $4::timestamptz IS NOT NULL" : "\(timestampExpression) >= $3 AND \(timestampExpression) < $4")\(samplingCondition(sampleRate))
            """, binds: bindings)
        let result = try await database.client.query(query, logger: database.logger)
        for try await row in result {
            let cells = row.makeRandomAccess()
            func text(_ index: Int) throws -> [String?] {
                try cells[index].decode([String].self).map { $0 == "\u{1}" ? nil : $0 }
            }
            var index = 1
            var features: [String: ColumnValues] = [:]
            var mismatches: [String: Int] = [:]
            for feature in data.features {
                features[feature.name] = feature.isNumeric ? .numeric(try cells[index].decode([Double].self)) : .categorical(try text(index))
                mismatches[feature.name] = try cells[index + 1].decode(Int.self)
                index += 2
            }
            return WindowRows(
                start: start, end: end, rowCount: try cells[0].decode(Int.self), features: features, typeMismatches: mismatches,
                predictions: try text(index), scores: try cells[index + 1].decode([Double].self), labels: try text(index + 2),
                latencies: try cells[index + 3].decode([Double].self), errors: try cells[index + 4].decode([Bool].self)
            )
        }
        throw StoreError(.query, "the window query returned no row")
    }
}
