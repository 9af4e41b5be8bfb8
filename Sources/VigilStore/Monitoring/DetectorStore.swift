import Foundation
import PostgresNIO

/// Which online detector's state: one per model, served version and rule.
public struct DetectorKey: Sendable, Hashable {
    public var model: String
    /// The served version whose stream it watches; `""` when the model is not in the registry.
    public var version: String
    /// The rule that runs it: `workflow/step/severity/method:stream`.
    public var name: String

    public init(model: String, version: String, name: String) {
        self.model = model
        self.version = version
        self.name = name
    }
}

/// The stream an online detector watches.
public enum DetectorStream: Sendable, Hashable {
    /// The labelled predictions, in the order their labels arrived.
    case errors
    /// One feature's values, in the order the rows arrived.
    case feature(String)
}

/// One value of a detector's stream, before the engine turns it into a number.
public struct StreamRecord: Sendable, Equatable {
    /// When it arrived (the label's `received_at`, or the row's `ingested_at`; the row's time in a
    /// user's table), then `ts` and `requestID`: the stream's order.
    public var arrival: Date
    public var ts: Date
    public var requestID: String
    /// The prediction and its label (the `errors` stream), or the feature's value as text.
    public var prediction: String?
    public var label: String?
    public var value: String?
}

/// A change a detector signalled, as stored in `detector_detections`.
public struct Detection: Sendable, Equatable {
    public var position: Int
    public var requestID: String
    public var ts: Date
    public var arrivedAt: Date
    public var value: Double
    public var detectedAt: Date

    public init(position: Int, requestID: String, ts: Date, arrivedAt: Date, value: Double, detectedAt: Date) {
        self.position = position
        self.requestID = requestID
        self.ts = ts
        self.arrivedAt = arrivedAt
        self.value = value
        self.detectedAt = detectedAt
    }
}

/// A detector's saved state: what `DetectorSnapshot` wrote, and how far into the stream.
public struct SavedDetector: Sendable {
    /// The rule's parameters the state was saved under, as JSON.
    public var parameters: String
    /// The detector's state, as JSON.
    public var state: String
    /// The next value's 0-based position in the stream.
    public var position: Int

    public init(parameters: String, state: String, position: Int) {
        self.parameters = parameters
        self.state = state
        self.position = position
    }
}

/// Online detectors' states and detections (`detector_states`, `detector_detections`).
///
/// ``advance(_:stream:source:through:horizonStart:now:runID:feed:)`` reads the stream after the
/// saved cursor in batches and, for each, saves the new state, cursor and detections in one
/// transaction that holds the state's row lock: two passes never feed the same values, and a
/// pass killed midway leaves the last committed batch as the state to continue from.
public struct DetectorStore: Sendable {
    public let database: Database
    /// Values read and fed per transaction.
    public var batchSize = 50_000

    public init(database: Database) {
        self.database = database
    }

    /// Feeds the stream's new values to a detector, batch by batch, through `feed`, which gets the
    /// saved state (`nil` on the first pass) and the batch in stream order, and returns the state
    /// to save and the changes detected. Returns the detections this call stored.
    ///
    /// - Parameters:
    ///   - through: only values that arrived before this time (the engine's clock) are read, and
    ///     only those that arrived before the oldest open transaction began.
    ///   - horizonStart: predictions older than this are not read.
    public func advance(
        _ key: DetectorKey, stream: DetectorStream, source: MonitoredSource, through: Date, horizonStart: Date, now: Date, runID: Int?,
        feed: (SavedDetector?, [StreamRecord]) throws -> (SavedDetector, [Detection])
    ) async throws -> [Detection] {
        var stored: [Detection] = []
        while true {
            let (detections, more) = try await database.transaction { connection in
                try await connection.query("""
                    INSERT INTO detector_states (model, model_version, detector, parameters, state, updated_at)
                    VALUES (\(key.model), \(key.version), \(key.name), 'null'::jsonb, 'null'::jsonb, \(now))
                    ON CONFLICT DO NOTHING
                    """, logger: database.logger)
                let rows = try await connection.query("""
                    SELECT parameters::text, state::text, position, cursor_arrival, cursor_ts, cursor_request FROM detector_states
                    WHERE model = \(key.model) AND model_version = \(key.version) AND detector = \(key.name) FOR UPDATE
                    """, logger: database.logger)
                var saved: SavedDetector?
                var cursor = (Date.distantPast, Date.distantPast, "")
                for try await (parameters, state, position, arrival, ts, request) in rows.decode((String, String, Int, Date?, Date?, String?).self) {
                    if state != "null" { saved = SavedDetector(parameters: parameters, state: state, position: position) }
                    if let arrival, let ts, let request { cursor = (arrival, ts, request) }
                }
                let records = try await Self.records(
                    of: stream, source: source, version: key.version, after: cursor, through: through, horizonStart: horizonStart,
                    limit: batchSize, on: connection, logger: database.logger
                )
                guard let last = records.last else { return ([Detection](), false) }
                let (next, detections) = try feed(saved, records)
                try await connection.query("""
                    UPDATE detector_states SET parameters = \(next.parameters)::jsonb, state = \(next.state)::jsonb, position = \(next.position),
                        cursor_arrival = \(last.arrival), cursor_ts = \(last.ts), cursor_request = \(last.requestID), updated_at = \(now)
                    WHERE model = \(key.model) AND model_version = \(key.version) AND detector = \(key.name)
                    """, logger: database.logger)
                for detection in detections {
                    try await connection.query("""
                        INSERT INTO detector_detections (model, model_version, detector, position, request_id, ts, arrived_at, value, detected_at, run_id)
                        VALUES (\(key.model), \(key.version), \(key.name), \(detection.position), \(detection.requestID), \(detection.ts),
                            \(detection.arrivedAt), \(detection.value), \(detection.detectedAt), \(runID))
                        ON CONFLICT DO NOTHING
                        """, logger: database.logger)
                }
                return (detections, records.count == batchSize)
            }
            stored += detections
            if !more { return stored }
        }
    }

    /// When the oldest transaction open on the database began (this one included). Labels and rows
    /// take their transaction's start as their arrival time, so every value that arrived before
    /// it is committed (or never will be): reading only those, the cursor never passes a value
    /// that a slow load commits later. Sessions of other roles count when the role may see them.
    static let oldestOpenTransaction = "SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database()"

    /// Up to `limit` values of the stream after `cursor`, in stream order.
    static func records(
        of stream: DetectorStream, source: MonitoredSource, version: String, after cursor: (Date, Date, String), through: Date,
        horizonStart: Date, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [StreamRecord] {
        let arrival: String, output: String, condition: String
        var binds = try PostgresBindings(values: source.model, source.roles, version, horizonStart, through, cursor.0, cursor.1, cursor.2, limit)
        switch stream {
        case .errors:
            guard let label = source.labelExpression else {
                throw StoreError(.invalidConfiguration, "the errors stream needs labels, and the workflow's data declares no label column")
            }
            // A label that came before its prediction was logged joins the stream when the prediction does.
            arrival = source.isVigilLog ? "greatest(y.received_at, t.ingested_at)" : source.timestampExpression
            output = "\(source.predictionExpression), \(label), NULL::text"
            condition = "\(label) IS NOT NULL"
        case .feature(let name):
            let value: String
            if source.isVigilLog {
                binds.append(name)
                value = "t.features ->> $10"
            } else {
                value = "t.\(try MonitoredSource.quotedName(name, dotted: false))::text"
            }
            arrival = source.isVigilLog ? "t.ingested_at" : source.timestampExpression
            output = "NULL::text, NULL::text, \(value)"
            condition = "\(value) IS NOT NULL"
        }
        let version = source.isVigilLog ? "($3 = '' OR t.model_version = $3)" : "$3::text IS NOT NULL"
        let ts = source.timestampExpression, request = source.requestExpression
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT \(arrival), \(ts), \(request), \(output) \(source.fromClause)
                AND \(version) AND \(ts) >= $4 AND \(arrival) < least($5, (\(Self.oldestOpenTransaction))) AND \(condition)
                AND (\(arrival), \(ts), \(request)) > ($6::timestamptz, $7::timestamptz, $8::text)
            ORDER BY 1, 2, 3 LIMIT $9
            """, binds: binds), logger: logger)
        var records: [StreamRecord] = []
        for try await (arrival, ts, request, prediction, label, value) in rows.decode((Date, Date, String, String?, String?, String?).self) {
            records.append(StreamRecord(arrival: arrival, ts: ts, requestID: request, prediction: prediction, label: label, value: value))
        }
        return records
    }

    /// The detections stored for a model, newest first, with the detector that made each.
    public func detections(model: String, since: Date = .distantPast, limit: Int = 1000) async throws -> [(key: DetectorKey, detection: Detection)] {
        let rows = try await database.client.query("""
            SELECT model_version, detector, position, request_id, ts, arrived_at, value, detected_at FROM detector_detections
            WHERE model = \(model) AND detected_at >= \(since) ORDER BY detected_at DESC, position DESC LIMIT \(limit)
            """, logger: database.logger)
        var found: [(DetectorKey, Detection)] = []
        for try await (version, name, position, request, ts, arrived, value, detected) in rows.decode((String, String, Int, String, Date, Date, Double, Date).self) {
            found.append((
                DetectorKey(model: model, version: version, name: name),
                Detection(position: position, requestID: request, ts: ts, arrivedAt: arrived, value: value, detectedAt: detected)
            ))
        }
        return found
    }
}
