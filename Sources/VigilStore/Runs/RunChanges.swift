import Foundation
import PostgresNIO

/// What a transaction decided for steps and runs it holds locked, and the history that records
/// it: written by ``write(on:logger:)`` in one statement, with the notification that wakes idle
/// workers when a step became ready. One round trip, where separate updates, insert and `NOTIFY`
/// took four, and a step made ready waits for none of them.
struct RunChanges {
    struct StepChange {
        let runID: Int
        let step: String
        let state: StepState
        let at: Date
    }

    struct RunChange {
        let runID: Int
        let state: RunState
        let error: String?
        let at: Date
    }

    var steps: [StepChange] = []
    var runs: [RunChange] = []
    var events: [NewEvent] = []
    /// Whether a step became ready, so idle workers must be woken.
    var madeReady = false

    var isEmpty: Bool { steps.isEmpty && runs.isEmpty && events.isEmpty }

    /// Writes everything collected and empties it.
    mutating func write(on connection: PostgresConnection, logger: Logger) async throws {
        defer { self = RunChanges() }
        guard !isEmpty else {
            if madeReady { try await EventLog.notifyReady(on: connection, logger: logger) }
            return
        }
        var bindings = PostgresBindings()
        func bind<Value: PostgresEncodable>(_ value: Value) throws -> String {
            try bindings.append(value)
            return "$\(bindings.count)"
        }
        // Each part runs to completion whether or not the final SELECT reads it, as a
        // data-modifying WITH does; no two touch the same row.
        var parts: [String] = []
        if !steps.isEmpty {
            try parts.append("""
                stepped AS (
                    UPDATE steps s SET state = d.state, ready_at = CASE WHEN d.state = 'ready' THEN d.at ELSE s.ready_at END,
                                       finished_at = CASE WHEN d.state = 'skipped' THEN d.at ELSE s.finished_at END
                    FROM unnest(\(bind(steps.map(\.runID)))::bigint[], \(bind(steps.map(\.step)))::text[], \(bind(steps.map(\.state.rawValue)))::text[],
                                \(bind(steps.map(\.at)))::timestamptz[]) AS d(run_id, name, state, at)
                    WHERE s.run_id = d.run_id AND s.name = d.name
                )
                """)
        }
        if !runs.isEmpty {
            // An empty error is none: the driver's arrays hold no NULLs.
            try parts.append("""
                ran AS (
                    UPDATE runs r SET state = d.state, error = nullif(d.error, ''), finished_at = CASE WHEN d.terminal THEN d.at ELSE NULL END
                    FROM unnest(\(bind(runs.map(\.runID)))::bigint[], \(bind(runs.map(\.state.rawValue)))::text[], \(bind(runs.map { $0.error ?? "" }))::text[],
                                \(bind(runs.map(\.state.isTerminal)))::bool[], \(bind(runs.map(\.at)))::timestamptz[]) AS d(id, state, error, terminal, at)
                    WHERE r.id = d.id
                )
                """)
        }
        if !events.isEmpty {
            // Absent values travel as '' and -1, for the same reason.
            try parts.append("""
                appended AS (
                    INSERT INTO run_events (\(EventLog.columns))
                    SELECT run_id, NULLIF(step, ''), NULLIF(from_state, ''), to_state, NULLIF(attempt, -1), actor, NULLIF(reason, ''), at
                    FROM unnest(\(bind(events.map(\.runID)))::bigint[], \(bind(events.map { $0.step ?? "" }))::text[], \(bind(events.map { $0.from ?? "" }))::text[],
                                \(bind(events.map(\.to)))::text[], \(bind(events.map { $0.attempt ?? -1 }))::int[], \(bind(events.map(\.actor)))::text[],
                                \(bind(events.map { $0.reason ?? "" }))::text[], \(bind(events.map(\.at)))::timestamptz[])
                        AS e(run_id, step, from_state, to_state, attempt, actor, reason, at)
                )
                """)
        }
        let notify = try "SELECT pg_notify(\(bind(EventLog.readyChannel)), '') WHERE \(bind(madeReady))"
        let sql = "WITH " + parts.joined(separator: ",\n") + "\n" + notify
        _ = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).collect()
    }
}
