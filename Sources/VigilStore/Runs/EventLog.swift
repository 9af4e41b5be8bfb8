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
    /// The columns an event is written with, in ``NewEvent``'s order: for ``RunChanges`` and for
    /// the claim, which each append events inside a statement of their own.
    static let columns = "run_id, step, from_state, to_state, attempt, actor, reason, at"

    /// Appends `events` and, when `notifyingReady`, wakes idle workers, in one statement
    /// (see ``RunChanges``).
    static func append(_ events: [NewEvent], notifyingReady notify: Bool = false, on connection: PostgresConnection, logger: Logger) async throws {
        var changes = RunChanges(events: events, madeReady: notify)
        try await changes.write(on: connection, logger: logger)
    }

    /// The channel that tells idle workers new steps are ready.
    static let readyChannel = "vigil_ready"

    /// Wakes idle workers: new steps are ready.
    static func notifyReady(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("NOTIFY vigil_ready", logger: logger)
    }
}
