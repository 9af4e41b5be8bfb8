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

    /// Appends `events` in one statement.
    static func append(_ events: [NewEvent], on connection: PostgresConnection, logger: Logger) async throws {
        guard !events.isEmpty else { return }
        // Arrays of optionals cannot be bound, so absent values travel as '' and -1.
        try await connection.query("""
            INSERT INTO run_events (\(unescaped: columns))
            SELECT run_id, NULLIF(step, ''), NULLIF(from_state, ''), to_state, NULLIF(attempt, -1), actor, NULLIF(reason, ''), at
            FROM unnest(\(events.map(\.runID))::bigint[], \(events.map { $0.step ?? "" })::text[], \(events.map { $0.from ?? "" })::text[],
                        \(events.map(\.to))::text[], \(events.map { $0.attempt ?? -1 })::int[], \(events.map(\.actor))::text[],
                        \(events.map { $0.reason ?? "" })::text[], \(events.map(\.at))::timestamptz[])
                AS e(run_id, step, from_state, to_state, attempt, actor, reason, at)
            """, logger: logger)
    }

    /// The channel that tells idle workers new steps are ready.
    static let readyChannel = "vigil_ready"

    /// Wakes idle workers: new steps are ready.
    static func notifyReady(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("NOTIFY vigil_ready", logger: logger)
    }
}
