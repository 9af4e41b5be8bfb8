import Foundation
import PostgresNIO
import VigilWorkflow

extension ModelChange {
    /// When the model's monitoring workflow compares windows with the champion's training window
    /// (`baseline: champion_training`), records in the changelog that the reference moved with the
    /// champion to `version`, and resolves the open drift alerts measured against the old one:
    /// windows from now on are compared with the new reference, so they would not fire again.
    func moveBaseline(to version: Int, from previous: Int?, runID: Int?) async throws {
        guard let monitoring = try await WorkflowStore.monitoringWorkflow(forModel: model, on: connection, logger: logger),
              monitoring.spec.data?.baseline == .championTraining else { return }
        let workflow = monitoring.workflow
        let window = try await trainingWindow(of: version)
        let format = { (date: Date) in ISO8601DateFormatter().string(from: date) }
        var details: [String: JSONValue] = ["baseline": .string("champion_training"), "workflow": .string(workflow)]
        let reason: String
        if let window {
            details["reference_start"] = .string(format(window.start))
            details["reference_end"] = .string(format(window.end))
            reason = "drift and calibration are now measured against version \(version)'s training window, \(format(window.start)) to \(format(window.end))"
                + (previous.map { " (was version \($0)'s)" } ?? "")
        } else {
            reason = "version \(version) records no training window, so windows it serves cannot be compared with it (register it with training_start and training_end)"
        }
        try await log("baseline_moved", version: version, from: previous, reason: reason, runID: runID, details: details)
        let alerts = AlertChange(connection: connection, logger: logger, actor: actor, now: now)
        for alert in try await openDriftAlerts() {
            _ = try await alerts.resolve(alert, reason: "the drift baseline moved with the champion to version \(version); " + reason)
        }
    }

    /// The champion version's training window, if it was registered with one.
    private func trainingWindow(of version: Int) async throws -> (start: Date, end: Date)? {
        let rows = try await connection.query("""
            SELECT training_start, training_end FROM model_versions WHERE model = \(model) AND version = \(version)
            """, logger: logger)
        for try await (start, end) in rows.decode((Date?, Date?).self) {
            guard let start, let end else { return nil }
            return (start, end)
        }
        return nil
    }

    /// The model's open alerts that Vigil raised naming drifted features, locked.
    private func openDriftAlerts() async throws -> [Alert] {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT \(AlertStore.columns) FROM alerts
            WHERE model = $1 AND source = 'vigil' AND state <> 'resolved'
              AND jsonb_typeof(findings -> 'drifted_features') = 'array' AND findings -> 'drifted_features' <> '[]'::jsonb
            ORDER BY id FOR UPDATE
            """, binds: try PostgresBindings(values: model)), logger: logger)
        var alerts: [Alert] = []
        for try await row in rows { alerts.append(try AlertStore.alert(from: row)) }
        return alerts
    }
}
