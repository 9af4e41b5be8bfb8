import Foundation
import Logging
import NIOCore
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

    /// The user's table as a quoted identifier, checked once.
    private let quotedTable: String?

    public init(model: String, data: MonitoredData) throws(StoreError) {
        self.model = model
        self.data = data
        quotedTable = try data.table.map { name throws(StoreError) in try Self.quotedName(name) }
        for column in [data.timestamp, data.prediction, data.requestID] + [data.label, data.score].compactMap({ $0 }) + data.features.map(\.name) {
            _ = try Self.quotedName(column, dotted: false)
        }
        if data.table != nil, let embedding = data.embeddingFeatures.first {
            throw StoreError(.invalidConfiguration, "embedding feature '\(embedding.name)' is read from Vigil's own inference log only, not from a table of your own")
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

    /// FROM and the fixed part of WHERE; `$1` is the model and `$2` the roles for Vigil's log.
    var fromClause: String {
        if let quotedTable {
            return "FROM \(quotedTable) t WHERE $1::text IS NOT NULL AND $2::text[] IS NOT NULL"
        }
        return """
            FROM inference_log t LEFT JOIN inference_labels y ON y.model = t.model AND y.request_id = t.request_id
            WHERE t.model = $1 AND t.role = ANY($2)
            """
    }

    var timestampExpression: String { isVigilLog ? "t.ts" : column(data.timestamp) }
    var requestExpression: String { isVigilLog ? "t.request_id" : "\(column(data.requestID))::text" }
    var predictionExpression: String { isVigilLog ? "t.prediction" : "\(column(data.prediction))::text" }
    var labelExpression: String? { isVigilLog ? "y.label" : data.label.map { "\(column($0))::text" } }
    var labelReceivedExpression: String? { isVigilLog ? "y.received_at" : nil }
    var scoreExpression: String? { isVigilLog ? "t.score" : data.score.map { "\(column($0))::float8" } }
    var latencyExpression: String? { isVigilLog ? "t.latency_ms" : nil }
    var errorExpression: String? { isVigilLog ? "t.error" : nil }

    /// The SQL for a feature's value in a user's table: float8 for numeric features, text otherwise.
    func featureExpression(_ feature: ColumnSchema) -> String {
        feature.isNumeric ? "\(column(feature.name))::float8" : "\(column(feature.name))::text"
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

    public init(start: Date, end: Date, rows: Int, labelled: Int, lastLabelAt: Date?, quarantined: Int) {
        self.start = start
        self.end = end
        self.rows = rows
        self.labelled = labelled
        self.lastLabelAt = lastLabelAt
        self.quarantined = quarantined
    }
}

/// The rows of one window, column by column. Missing numbers are NaN; missing text is `nil`.
public struct WindowRows: Sendable {
    /// Appends `other`'s rows (the next part of the window), which end at `other.end`, in place.
    /// Each of `other`'s columns is let go as soon as it is copied, so when this window's columns
    /// were sized for the whole window, the two parts never exist beside a joined copy: at most
    /// one of `other`'s columns does.
    mutating func append(_ other: consuming WindowRows) {
        var other = other
        for name in Array(other.features.keys) {
            guard let values = other.features.removeValue(forKey: name) else { continue }
            guard var mine = features.removeValue(forKey: name) else {
                features[name] = values
                continue
            }
            mine.append(contentsOf: values)
            features[name] = mine
        }
        for (name, count) in other.typeMismatches { typeMismatches[name, default: 0] += count }
        Self.move(&other.predictions, to: &predictions)
        Self.move(&other.scores, to: &scores)
        Self.move(&other.labels, to: &labels)
        Self.move(&other.latencies, to: &latencies)
        Self.move(&other.errors, to: &errors)
        Self.move(&other.variants, to: &variants)
        if !probabilities.isEmpty || !other.probabilities.isEmpty {
            if probabilities.isEmpty { probabilities = Array(repeating: nil, count: rowCount) }
            if other.probabilities.isEmpty { other.probabilities = Array(repeating: nil, count: other.rowCount) }
            Self.move(&other.probabilities, to: &probabilities)
        }
        for name in Array(other.embeddings.keys) {
            Self.move(&other.embeddings[name, default: []], to: &embeddings[name, default: []])
        }
        rowCount += other.rowCount
        end = other.end
    }

    /// Appends `more` to `column`, growing it at most once, then lets `more`'s storage go.
    private static func move<Element>(_ more: inout [Element], to column: inout [Element]) {
        column.reserveCapacity(column.count + more.count)
        column.append(contentsOf: more)
        more = []
    }

    private static func move(_ more: inout CategoryColumn, to column: inout CategoryColumn) {
        column.append(contentsOf: more)
        more = []
    }

    public let start: Date
    public private(set) var end: Date
    public private(set) var rowCount: Int
    public var features: [String: ColumnValues]
    /// Per numeric feature in Vigil's log: values present but not numbers.
    public var typeMismatches: [String: Int]
    public var predictions: CategoryColumn
    public var scores: [Double]
    public var labels: CategoryColumn
    public var latencies: [Double]
    public var errors: [Bool]
    /// Which variant answered each row, as `role:version` (`champion:3`, `canary:4`); empty for a
    /// user's table, which has no such column.
    public var variants = CategoryColumn()
    /// A multiclass model's class probabilities per row (`inference_log.probabilities`); empty
    /// when no row of the window has them.
    public var probabilities: [[String: Double]?] = []
    /// Each declared embedding's values, row after row (`dimension` floats a row; a row without
    /// the embedding holds NaN).
    public var embeddings: [String: [Float]] = [:]
}

extension MonitoredSource {
    /// Per window in [since, until): rows, labels, latest label and quarantined rows.
    /// The time of the source's first and last row, when it has any: what a pass that finds
    /// nothing due says in its reason.
    public func span(on database: Database) async throws -> (first: Date, last: Date)? {
        var bindings = PostgresBindings()
        bindings.append(model)
        bindings.append(roles)
        let query = PostgresQuery(unsafeSQL: "SELECT min(\(timestampExpression)), max(\(timestampExpression)) \(fromClause)", binds: bindings)
        for try await (first, last) in try await database.client.query(query, logger: database.logger).decode((Date?, Date?).self) {
            if let first, let last { return (first, last) }
        }
        return nil
    }

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

    /// The rows of [start, end), sampled at `sampleRate`. A window of Vigil's log is read as two
    /// halves at once, each streamed and parsed on its own core. With `allTime`, every row of the
    /// source whatever its time (a baseline table need not have a timestamp column).
    /// `expectedRows` (the window's count, when known; counted here otherwise) sizes the columns
    /// up front, so a large window is not held in storage grown by doubling.
    public func rows(
        from start: Date, to end: Date, allTime: Bool = false, sampleRate: Double = 1, expectedRows: Int? = nil, on database: Database
    ) async throws -> WindowRows {
        guard isVigilLog else { return try await aggregate(from: start, to: end, allTime: allTime, sampleRate: sampleRate, on: database) }
        let counted: Int
        if let expectedRows { counted = expectedRows } else { counted = try await count(from: start, to: end, on: database) }
        let expected = Int((Double(max(0, counted)) * min(1, max(0, sampleRate))).rounded(.up))
        guard end.timeIntervalSince(start) > 1 else {
            return try await stream(from: start, to: end, sampleRate: sampleRate, capacity: expected, on: database)
        }
        let middle = start.addingTimeInterval((end.timeIntervalSince(start) / 2).rounded(.down))
        // The first half's columns are sized for the whole window (pages never written cost no
        // memory), so the second half is appended without growing them; the second half is sized
        // for a little over half the rows: traffic is seldom even across a day.
        let half = expected / 2 + expected / 16
        var rows: WindowRows, rest: WindowRows
        do {
            async let first = stream(from: start, to: middle, sampleRate: sampleRate, capacity: expected, on: database)
            async let second = stream(from: middle, to: end, sampleRate: sampleRate, capacity: half, on: database)
            rows = try await first
            rest = try await second
        }
        // Out of the async lets' scope, which keeps a reference to each half until it ends: the
        // halves' columns are now referenced once, so appending neither copies the first half's
        // columns nor keeps the second's beyond their copy.
        rows.append(consume rest)
        return rows
    }

    /// How many rows of Vigil's log [start, end) holds.
    private func count(from start: Date, to end: Date, on database: Database) async throws -> Int {
        let query = PostgresQuery(unsafeSQL: "SELECT count(*)::int8 \(fromClause) AND t.ts >= $3 AND t.ts < $4", binds: bindings(start, end))
        for try await count in try await database.client.query(query, logger: database.logger).decode(Int.self) { return count }
        return 0
    }

    private func bindings(_ start: Date, _ end: Date) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(model)
        bindings.append(roles)
        bindings.append(start)
        bindings.append(end)
        return bindings
    }

    /// The columns of Vigil's log a window reads, in the order ``stream(_:from:to:on:)`` parses them.
    private static let streamedColumns = """
        t.features, t.prediction, t.score, y.label, t.latency_ms, t.error, t.role || ':' || t.model_version AS variant, t.probabilities::text AS probabilities,
        t.embeddings
        """

    /// Vigil's log: rows streamed as they are stored, features parsed from their JSON here.
    private func stream(from start: Date, to end: Date, sampleRate: Double, capacity: Int, on database: Database) async throws -> WindowRows {
        let query = PostgresQuery(unsafeSQL: """
            SELECT \(Self.streamedColumns)
            \(fromClause) AND t.ts >= $3 AND t.ts < $4\(samplingCondition(sampleRate))
            """, binds: bindings(start, end))
        return try await stream(query, from: start, to: end, capacity: capacity, on: database)
    }

    /// The newest `limit` labelled rows of [start, end) that model version `version` answered,
    /// whether it served them or answered in shadow, oldest first: what a newly promoted
    /// version's performance estimator is fitted on. Empty for a user's table, which has no versions.
    public func labelledRows(version: String, from start: Date, to end: Date, limit: Int, on database: Database) async throws -> WindowRows {
        guard isVigilLog else {
            return WindowRows(start: start, end: end, rowCount: 0, features: [:], typeMismatches: [:], predictions: [], scores: [], labels: [], latencies: [], errors: [])
        }
        var source = self
        source.roles = ["champion", "canary", "shadow"]
        var bindings = source.bindings(start, end)
        bindings.append(version)
        bindings.append(limit)
        // The newest rows, then back into time order (an estimator's chunks are consecutive).
        let query = PostgresQuery(unsafeSQL: """
            SELECT features, prediction, score, label, latency_ms, error, variant, probabilities, embeddings FROM (
                SELECT \(Self.streamedColumns), t.ts AS at, t.request_id AS request
                \(source.fromClause) AND t.ts >= $3 AND t.ts < $4 AND t.model_version = $5 AND y.label IS NOT NULL
                ORDER BY t.ts DESC, t.request_id DESC LIMIT $6
            ) newest ORDER BY at, request
            """, binds: bindings)
        return try await stream(query, from: start, to: end, capacity: min(max(0, limit), 1_000_000), on: database)
    }

    /// Parses the rows of `query`, which selects ``streamedColumns``, into columns sized for `capacity` rows.
    private func stream(_ query: PostgresQuery, from start: Date, to end: Date, capacity: Int, on database: Database) async throws -> WindowRows {
        let scalar = data.scalarFeatures, embedded = data.embeddingFeatures
        let width = embedded.reduce(0) { $0 + ($1.dimension ?? 0) }
        var embeddings = embedded.map { _ in [Float]() }
        var features = FeatureColumns(features: scalar, capacity: capacity)
        var predictions = CategoryReader(), labels = CategoryReader(), variants = CategoryReader()
        var scores: [Double] = [], latencies: [Double] = [], errors: [Bool] = []
        // Class probabilities, only from the first row that has them (earlier rows then get `nil`).
        var probabilities: [[String: Double]?] = []
        predictions.reserveCapacity(capacity)
        labels.reserveCapacity(capacity)
        scores.reserveCapacity(capacity)
        latencies.reserveCapacity(capacity)
        errors.reserveCapacity(capacity)
        variants.reserveCapacity(capacity)
        let decoder = JSONDecoder()
        for try await row in try await database.client.query(query, logger: database.logger) {
            var cells = row.makeIterator()
            cells.next()?.bytes?.withUnsafeReadableBytes { features.add($0) } ?? features.add(UnsafeRawBufferPointer(start: nil, count: 0))
            predictions.append(cells.next()?.bytes)
            scores.append(cells.next()?.bytes.flatMap(Self.double) ?? .nan)
            labels.append(cells.next()?.bytes)
            latencies.append(cells.next()?.bytes.flatMap(Self.double) ?? .nan)
            errors.append(cells.next()?.bytes?.getInteger(at: 0, as: UInt8.self).map { $0 != 0 } ?? false)
            variants.append(cells.next()?.bytes)
            // Class probabilities as ingest checked them: an object of numbers.
            let classes = cells.next()?.bytes.flatMap { try? decoder.decode([String: Double].self, from: Data(buffer: $0)) }
            if classes != nil, probabilities.isEmpty {
                probabilities.reserveCapacity(max(capacity, scores.count))
                probabilities.append(contentsOf: repeatElement(nil, count: scores.count - 1))
            }
            if !probabilities.isEmpty { probabilities.append(classes) }
            if !embedded.isEmpty {
                // The row's embeddings one after another, as the ingest wrote them; none, or another width: missing.
                let values = try cells.next()?.decode([Float]?.self) ?? nil
                var offset = 0
                for (index, schema) in embedded.enumerated() {
                    let dimension = schema.dimension ?? 0
                    if let values, values.count == width {
                        embeddings[index] += values[offset..<(offset + dimension)]
                    } else {
                        embeddings[index] += repeatElement(Float.nan, count: dimension)
                    }
                    offset += dimension
                }
            }
        }
        var columns: [String: ColumnValues] = [:], mismatches: [String: Int] = [:]
        for (index, feature) in scalar.enumerated() {
            columns[feature.name] = feature.isNumeric ? .numeric(features.numbers[index]) : .categorical(features.texts(index))
            mismatches[feature.name] = features.mismatches[index]
        }
        return WindowRows(
            start: start, end: end, rowCount: scores.count, features: columns, typeMismatches: mismatches,
            predictions: predictions.column, scores: scores, labels: labels.column, latencies: latencies, errors: errors, variants: variants.column,
            probabilities: probabilities,
            embeddings: Dictionary(uniqueKeysWithValues: zip(embedded.map(\.name), embeddings))
        )
    }

    /// The workflow's business metrics over [start, end): each declared SQL aggregate, evaluated over
    /// the window's rows (for Vigil's log: its columns, and `label`), in a read-only transaction
    /// with a statement timeout. A metric whose SQL fails is reported by name, not fatal.
    public func businessMetrics(from start: Date, to end: Date, on database: Database) async throws -> (values: [String: Double?], rows: Int, error: String?) {
        guard !data.metrics.isEmpty else { return ([:], 0, nil) }
        let rows = isVigilLog
            ? "SELECT t.*, y.label \(fromClause) AND t.ts >= $3 AND t.ts < $4"
            : "SELECT t.* \(fromClause) AND \(timestampExpression) >= $3 AND \(timestampExpression) < $4"
        let select = (["count(*)::int8"] + data.metrics.map { "(\($0.aggregate))::float8" }).joined(separator: ", ")
        do {
            return try await database.transaction { connection in
                try await connection.query("SET TRANSACTION READ ONLY", logger: database.logger)
                try await connection.query("SET LOCAL statement_timeout = '30s'", logger: database.logger)
                let query = PostgresQuery(unsafeSQL: "SELECT \(select) FROM (\(rows)) AS w", binds: bindings(start, end))
                for try await row in try await connection.query(query, logger: database.logger) {
                    let cells = row.makeRandomAccess()
                    var values: [String: Double?] = [:]
                    for (index, metric) in data.metrics.enumerated() {
                        values[metric.name] = try cells[index + 1].decode(Double?.self)
                    }
                    return (values, try cells[0].decode(Int.self), nil)
                }
                return ([:], 0, nil)
            }
        } catch let error where StoreError.sqlState(of: error) != nil {
            return ([:], 0, "business metrics (\(data.metrics.map(\.name).joined(separator: ", "))) failed: \(StoreError.explain(error))")
        }
    }

    private static func double(_ buffer: ByteBuffer) -> Double? {
        buffer.getInteger(at: buffer.readerIndex, as: UInt64.self).map(Double.init(bitPattern:))
    }

    /// A user's table or view: typed columns, collected into arrays by PostgreSQL in one scan.
    private func aggregate(from start: Date, to end: Date, allTime: Bool, sampleRate: Double, on database: Database) async throws -> WindowRows {
        var select = ["count(*)::int8"]
        for feature in data.features {
            select.append("array_agg(\(featureExpression(feature)))")
        }
        select.append("array_agg(\(predictionExpression))")
        select.append("array_agg(\(scoreExpression ?? "NULL::float8"))")
        select.append("array_agg(\(labelExpression ?? "NULL::text"))")
        select.append("array_agg(\(latencyExpression ?? "NULL::float8"))")
        select.append("array_agg(\(errorExpression ?? "false"))")
        let time = allTime ? "$3::timestamptz IS NOT NULL AND $4::timestamptz IS NOT NULL" : "\(timestampExpression) >= $3 AND \(timestampExpression) < $4"
        let query = PostgresQuery(unsafeSQL: """
            SELECT \(select.joined(separator: ",\n       "))
            \(fromClause) AND \(time)\(samplingCondition(sampleRate))
            """, binds: bindings(start, end))
        for try await row in try await database.client.query(query, logger: database.logger) {
            let cells = row.makeRandomAccess()
            var index = 1
            var features: [String: ColumnValues] = [:]
            for feature in data.features {
                features[feature.name] = feature.isNumeric ? .numeric(try ArrayCell.doubles(cells[index])) : .categorical(try ArrayCell.texts(cells[index]))
                index += 1
            }
            return WindowRows(
                start: start, end: end, rowCount: try cells[0].decode(Int.self), features: features, typeMismatches: [:],
                predictions: try ArrayCell.texts(cells[index]), scores: try ArrayCell.doubles(cells[index + 1]), labels: try ArrayCell.texts(cells[index + 2]),
                latencies: try ArrayCell.doubles(cells[index + 3]), errors: try ArrayCell.booleans(cells[index + 4])
            )
        }
        throw StoreError(.query, "the window query returned no row")
    }
}
