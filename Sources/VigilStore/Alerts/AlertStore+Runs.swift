import Foundation
import PostgresNIO
import VigilWorkflow

/// The runs alerts start, and what their ending does to the alert.
extension AlertStore {
    /// A run an alert started that has ended but whose outcome the alert has not taken in.
    public struct EndedRun: Sendable {
        public let alertID: Int
        public let runID: Int
        public let workflow: String
        public let state: RunState
        public let error: String?
    }

    /// Records that `alertID` started `runID`; recording it again is a no-op.
    public func linkRun(alertID: Int, runID: Int, workflow: String, actor: String, now: Date) async throws {
        try await database.transaction { connection in
            let rows = try await connection.query("""
                INSERT INTO alert_runs (alert_id, run_id, workflow, created_at) VALUES (\(alertID), \(runID), \(workflow), \(now))
                ON CONFLICT DO NOTHING RETURNING run_id
                """, logger: database.logger)
            for try await _ in rows.decode(Int.self) {
                try await AlertChange(connection: connection, logger: database.logger, actor: actor, now: now)
                    .record(alertID, "run_started", reason: "started \(workflow) run \(runID)", details: ["run": .number(Double(runID)), "workflow": .string(workflow)])
            }
        }
    }

    /// Runs started by alerts that have ended since the alert last looked.
    public func endedRuns(limit: Int = 100) async throws -> [EndedRun] {
        let rows = try await database.client.query("""
            SELECT ar.alert_id, ar.run_id, ar.workflow, r.state, r.error FROM alert_runs ar JOIN runs r ON r.id = ar.run_id
            WHERE ar.outcome IS NULL AND r.state IN ('succeeded', 'failed', 'cancelled') ORDER BY ar.run_id LIMIT \(limit)
            """, logger: database.logger)
        var ended: [EndedRun] = []
        for try await (alert, run, workflow, state, error) in rows.decode((Int, Int, String, String, String?).self) {
            ended.append(EndedRun(alertID: alert, runID: run, workflow: workflow, state: RunState(rawValue: state) ?? .failed, error: error))
        }
        return ended
    }

    /// Takes in how a run the alert started ended: `resolve` closes the alert (a promotion that
    /// restored quality); otherwise the alert stays open and `reason` says why.
    public func recordRunOutcome(_ run: EndedRun, outcome: String, resolve: Bool, reason: String, actor: String, now: Date) async throws {
        try await database.transaction { connection in
            let rows = try await connection.query("""
                UPDATE alert_runs SET outcome = \(outcome) WHERE alert_id = \(run.alertID) AND run_id = \(run.runID) AND outcome IS NULL RETURNING run_id
                """, logger: database.logger)
            var claimed = false
            for try await _ in rows.decode(Int.self) { claimed = true }
            guard claimed else { return }
            let alert = try await Self.lockedAlert(id: run.alertID, on: connection, logger: database.logger)
            let change = AlertChange(connection: connection, logger: database.logger, actor: actor, now: now)
            try await change.record(alert.id, "run_ended", reason: reason, details: ["run": .number(Double(run.runID)), "outcome": .string(outcome)])
            if resolve && alert.state.isOpen {
                _ = try await change.resolve(alert, reason: reason)
            } else if alert.state.isOpen {
                try await connection.query("UPDATE alerts SET status_reason = \(reason) WHERE id = \(alert.id)", logger: database.logger)
            }
        }
    }
}
