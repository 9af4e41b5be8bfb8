import Foundation
import VigilStore
import VigilWorkflow

/// Starts the workflows whose `alert:` triggers match an alert: one run per incident, whatever
/// the number of times the alert fires, because the incident key (fingerprint and start time)
/// is the run's idempotency key. Each workflow's concurrency policy still applies.
public struct AlertRunStarter: Sendable {
    let launcher: RunLauncher
    let alerts: AlertStore

    public init(database: Database, clock: any EngineClock = SystemClock()) {
        launcher = RunLauncher(database: database, clock: clock)
        alerts = AlertStore(database: database)
    }

    /// The trigger an alert presents to workflows: its name, labels (with `model`, `severity` and
    /// `subject` unless the alert's own labels say otherwise, as Alertmanager's may), and fingerprint.
    public static func trigger(for alert: Alert, actor: String) -> RunTrigger {
        var labels = alert.labels
        labels["model"] = labels["model"] ?? alert.model
        labels["severity"] = labels["severity"] ?? alert.severity.rawValue
        labels["subject"] = labels["subject"] ?? alert.subject
        return RunTrigger(kind: .alert, name: alert.rule, labels: labels, fingerprint: alert.fingerprint, actor: actor)
    }

    /// Starts the matching workflows and links each run to the alert (and in the lineage graph).
    ///
    /// - Returns: each matching workflow with what happened (created, already existing, or skipped).
    @discardableResult
    public func startRuns(for alert: Alert, actor: String) async throws -> [(workflow: String, creation: RunCreation)] {
        let started = try await launcher.trigger(Self.trigger(for: alert, actor: actor), idempotencyKey: alert.incidentKey)
        let now = launcher.clock.now()
        for (workflow, creation) in started {
            switch creation {
            case let .created(run), let .existing(run):
                try await alerts.linkRun(alertID: alert.id, runID: run, workflow: workflow, actor: actor, now: now)
                try await LineageStore(database: launcher.database).recordEdge(
                    from: LineageNode(kind: "alert", id: String(alert.id)), to: LineageNode(kind: "run", id: String(run)),
                    relation: "started", runID: run, step: nil, now: now
                )
            case .skipped:
                continue
            }
        }
        return started
    }
}
