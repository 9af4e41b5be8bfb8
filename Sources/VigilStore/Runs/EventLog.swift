import Foundation
import PostgresNIO

/// A state change to append to `run_events`.
struct NewEvent: Sendable {
    var runID: Int
    var step: String?
    var from: String?
    var to: String
    var attempt: Int?
    var actor: String
    var reason: String?
    var at: Date
}

enum EventLog {
    /// The columns an event is written with, in ``NewEvent``'s order: for ``append(_:on:logger:)``
    /// and for the claim, which appends its events inside its own statement.
    static let columns = "run_id, step, from_state, to_state, attempt, actor, reason, at"

    /// Appends `events` and, when `notifyingReady`, wakes idle workers (``notifyReady(on:logger:)``),
    /// both in one statement: the transaction that makes a step ready pays one round trip for its
    /// history, not two, and a step waits that much less for a worker.
    static func append(_ events: [NewEvent], notifyingReady notify: Bool = false, on connection: PostgresConnection, logger: Logger) async throws {
        guard !events.isEmpty else {
            if notify { try await notifyReady(on: connection, logger: logger) }
            return
        }
        // Arrays of optionals cannot be bound, so absent values travel as '' and -1. The insert
        // runs to completion whether or not the SELECT reads it, as a data-modifying WITH does.
        _ = try await connection.query("""
            WITH appended AS (
                INSERT INTO run_events (\(unescaped: columns))
                SELECT run_id, NULLIF(step, ''), NULLIF(from_state, ''), to_state, NULLIF(attempt, -1), actor, NULLIF(reason, ''), at
                FROM unnest(\(events.map(\.runID))::bigint[], \(events.map { $0.step ?? "" })::text[], \(events.map { $0.from ?? "" })::text[],
                            \(events.map(\.to))::text[], \(events.map { $0.attempt ?? -1 })::int[], \(events.map(\.actor))::text[],
                            \(events.map { $0.reason ?? "" })::text[], \(events.map(\.at))::timestamptz[])
                    AS e(run_id, step, from_state, to_state, attempt, actor, reason, at)
            )
            SELECT pg_notify(\(readyChannel), '') WHERE \(notify)
            """, logger: logger).collect()
    }

    /// The channel that tells idle workers new steps are ready.
    static let readyChannel = "vigil_ready"

    /// Wakes idle workers: new steps are ready.
    static func notifyReady(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("NOTIFY vigil_ready", logger: logger)
    }
}
