import Foundation
import VigilWorkflow

/// A step waiting at an approval gate, as the people who may decide see it.
public struct PendingApproval: Sendable {
    public let runID: Int
    public let workflow: String
    public let step: String
    /// Who started the run: they may not approve unless the gate allows self-approval.
    public let startedBy: String
    /// Roles of which an approver must hold one (an admin holds all).
    public let roles: [String]
    /// Distinct approvals needed, and who has approved so far.
    public let quorum: Int
    public let approvedBy: [String]
    public let allowSelfApproval: Bool
    /// When the gate decides by itself, and what it then does (`reject`, `approve` or `fail`).
    public let timesOutAt: Date?
    public let onTimeout: String
    /// Since when the step has waited.
    public let waitingSince: Date?
}

extension RunStore {
    /// Every step waiting for approval, oldest run first.
    public func pendingApprovals() async throws -> [PendingApproval] {
        let rows = try await database.client.query("""
            SELECT s.run_id, r.workflow, s.name, coalesce(r.trigger->>'actor', ''), coalesce(s.memo::text, '{}'),
                   (SELECT max(e.at) FROM run_events e WHERE e.run_id = s.run_id AND e.step = s.name AND e.to_state = 'awaiting_approval')
            FROM steps s JOIN runs r ON r.id = s.run_id
            WHERE s.state = 'awaiting_approval'
            ORDER BY s.run_id, s.name
            """, logger: logger)
        var pending: [PendingApproval] = []
        for try await (runID, workflow, step, starter, memoText, since) in rows.decode((Int, String, String, String, String, Date?).self) {
            let memo = (try? JSONText.decode([String: JSONValue].self, from: memoText)) ?? [:]
            let request = ApprovalRequest(memo: memo)
            pending.append(PendingApproval(
                runID: runID, workflow: workflow, step: step, startedBy: starter, roles: request.roles, quorum: request.quorum,
                approvedBy: request.approvals.map(\.by), allowSelfApproval: request.allowSelfApproval, timesOutAt: request.timeoutAt,
                onTimeout: request.onTimeout.rawValue, waitingSince: since
            ))
        }
        return pending
    }
}
