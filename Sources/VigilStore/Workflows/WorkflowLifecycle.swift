import Foundation
import Logging
import PostgresNIO
import VigilWorkflow

/// Where a workflow stands: whether it may start runs, and whether it is listed.
public enum WorkflowState: String, Sendable, CaseIterable, Codable {
    /// Runs start as its triggers, its schedule and people ask.
    case enabled
    /// No run starts, by trigger, schedule or person, until it is enabled again.
    case disabled
    /// Gone from listings, schedules and triggers; its versions, runs and audit trail stay.
    case deleted
}

extension WorkflowStore {
    /// Disables, enables or deletes `workflow`, audited with `reason`.
    ///
    /// Deleting refuses while the workflow has runs queued, running or waiting, unless
    /// `cancelRuns`, which cancels them first in the same transaction. Enabling a deleted workflow
    /// brings it back.
    ///
    /// - Returns: the state before, equal to `state` when nothing changed (nothing is audited then).
    /// - Throws: ``StoreError`` `.notFound` for an unknown workflow, `.conflict` naming the active
    ///   runs when deleting without `cancelRuns`.
    @discardableResult
    public func setState(_ workflow: String, to state: WorkflowState, actor: String, reason: String, cancelRuns: Bool = false, now: Date) async throws -> WorkflowState {
        let logger = database.logger
        return try await database.transaction { connection in
            // The row lock orders this against run starts, which read the state under a share lock.
            let current = try await connection.query("SELECT state FROM workflows WHERE name = \(workflow) FOR UPDATE", logger: logger)
                .decode(String.self).first { _ in true }.flatMap(WorkflowState.init(rawValue:))
            guard let current else { throw StoreError(.notFound, "no workflow named '\(workflow)' has been applied") }
            guard current != state else { return current }
            var details: [String: JSONValue] = ["from": .string(current.rawValue), "to": .string(state.rawValue)]
            if state == .deleted {
                let active = try await connection.query(
                    "SELECT id FROM runs WHERE workflow = \(workflow) AND state IN ('queued', 'running', 'waiting') ORDER BY id", logger: logger
                ).collect().map { try $0.decode(Int.self) }
                if !active.isEmpty {
                    guard cancelRuns else {
                        throw StoreError(.conflict, "workflow '\(workflow)' has \(active.count) active run\(active.count == 1 ? "" : "s") (\(active.map(String.init).joined(separator: ", "))); "
                            + "let them end, or pass --cancel-runs to cancel them")
                    }
                    let runs = RunStore(database: database)
                    for id in active {
                        try await runs.cancel(id, actor: actor, reason: "workflow \(workflow) deleted: \(reason)", now: now, on: connection)
                    }
                    details["cancelled_runs"] = .array(active.map { .number(Double($0)) })
                }
            }
            try await connection.query("""
                UPDATE workflows SET state = \(state.rawValue), state_changed_at = \(now), state_changed_by = \(actor) WHERE name = \(workflow)
                """, logger: logger)
            let action = switch state {
            case .enabled: "workflow.enabled"
            case .disabled: "workflow.disabled"
            case .deleted: "workflow.deleted"
            }
            try await AuditLog.append(actor: actor, action: action, subject: "workflow:\(workflow)", reason: reason, details: details, at: now, on: connection, logger: logger)
            return current
        }
    }

    /// Refuses to start a run of `workflow` unless it is enabled; holds a share lock on its row
    /// until the caller's transaction ends, so a run cannot start after it is disabled or deleted.
    static func checkRunnable(_ workflow: String, on connection: PostgresConnection, logger: Logger) async throws {
        let state = try await connection.query("SELECT state FROM workflows WHERE name = \(workflow) FOR SHARE", logger: logger)
            .decode(String.self).first { _ in true }.flatMap(WorkflowState.init(rawValue:))
        switch state {
        case .enabled?, nil: return
        case .disabled?: throw StoreError(.conflict, "workflow '\(workflow)' is disabled; `vigil workflows enable \(workflow)` lets it run again")
        case .deleted?: throw StoreError(.conflict, "workflow '\(workflow)' was deleted; `vigil workflows enable \(workflow)` brings it back")
        }
    }
}
