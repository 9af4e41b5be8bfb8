import Foundation
import Logging
import ServiceLifecycle
import VigilStore
import VigilWorkflow

/// Keeps alerts moving when no step is looking: pages hard alerts again past their deadline,
/// delivers notifications and routing changes nobody delivered (queued by the CLI, or left by a
/// step that crashed) and those due another round after a failed one, raises an alert on the other channels when a
/// channel has been failing too long, posts open alerts to Alertmanager again before it forgets
/// them, and takes in how the runs alerts started ended — a promotion resolves the alert, a failure
/// leaves it open saying why. Any number of keepers may share one database.
public final class AlertKeeper: Service, Sendable {
    public struct Configuration: Sendable {
        /// Wall seconds between passes.
        public var interval: TimeInterval = 5
        /// A notification queued this long ago and still pending is delivered by the keeper.
        public var orphanAge: TimeInterval = 10
        /// A channel failing this long raises "alerting is degraded" on the other channels.
        public var degradedAfter: TimeInterval = 600
        public var identifier = "alert-keeper-\(HostName.current)-\(getpid())"

        public init() {}
    }

    public let configuration: Configuration
    let notifier: AlertNotifier
    let announcer: RoutingAnnouncer
    let alerts: AlertStore
    let runs: RunStore
    let clock: any EngineClock
    let logger: Logger

    public init(database: Database, channels: ChannelDirectory, clock: any EngineClock = SystemClock(), configuration: Configuration = Configuration(), logger: Logger) {
        self.configuration = configuration
        notifier = AlertNotifier(database: database, channels: channels, clock: clock, actor: configuration.identifier, logger: logger)
        announcer = RoutingAnnouncer(database: database, destination: channels.routing, clock: clock, actor: configuration.identifier, logger: logger)
        alerts = AlertStore(database: database)
        runs = RunStore(database: database)
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.tick()
                } catch {
                    self.logger.warning("alert keeper pass failed; retrying", metadata: ["error": "\(StoreError.explain(error))"])
                }
                try? await Task.sleep(for: .milliseconds(Int64(self.configuration.interval * 1_000)))
            }
        }
    }

    /// One pass: renotifications, orphaned and due deliveries (notifications and routing
    /// changes), channel health, Alertmanager
    /// refreshes, ended runs.
    public func tick() async throws {
        let now = clock.now()
        let outbox = NotificationOutbox(database: alerts.database)
        try await outbox.queueDueRenotifications(actor: configuration.identifier, now: now)
        try await notifier.deliverPending(queuedBefore: now.addingTimeInterval(-configuration.orphanAge))
        try await announcer.deliverPending(queuedBefore: now.addingTimeInterval(-configuration.orphanAge))
        if let mlflow = notifier.channels.mlflow {
            // MLflow's aliases follow Vigil's; an outage there is retried on the next pass.
            do {
                for change in try await MLflowMirror(database: alerts.database, mlflow: mlflow).syncAll() {
                    logger.info("MLflow alias mirrored", metadata: ["change": "\(change)"])
                }
            } catch let error as MLflowError {
                logger.warning("MLflow aliases not mirrored yet", metadata: ["error": "\(error)"])
            }
        }
        try await watchChannels(outbox, now: now)
        try await notifier.refreshAlertmanagers()
        for ended in try await alerts.endedRuns() {
            let (outcome, resolve, reason) = try await judge(ended)
            try await alerts.recordRunOutcome(ended, outcome: outcome, resolve: resolve, reason: reason, actor: configuration.identifier, now: clock.now())
            logger.info("an alert's run ended", metadata: ["alert": "\(ended.alertID)", "run": "\(ended.runID)", "outcome": "\(outcome)"])
            // A resolution just queued goes out now rather than a pass later.
            if resolve { try await notifier.deliverPending(alertID: ended.alertID) }
        }
    }

    /// Raises a hard alert on the other channels for each channel failing longer than
    /// ``Configuration/degradedAfter``, and resolves it once the channel delivers again.
    func watchChannels(_ outbox: NotificationOutbox, now: Date) async throws {
        for health in try await outbox.channelHealth() {
            if let since = health.failingSince, now.timeIntervalSince(since) >= configuration.degradedAfter, health.degradedAlertID == nil {
                let others = notifier.channels.channels.keys.filter { $0 != health.channel }.sorted()
                let minutes = Int(now.timeIntervalSince(since) / 60)
                let reason = "alerting is degraded: \(health.channel) failing for \(minutes) min (\(health.consecutiveFailures) rounds): \(health.lastError ?? "no answer")"
                let finding = AlertFinding(
                    model: "vigil", rule: "delivery-degraded", subject: health.channel, severity: .hard,
                    details: ["reasons": .array([.string(reason)]), "channel": .string(health.channel)], channels: others, resolveAfter: 1
                )
                let raised = try await alerts.raise(finding, idempotencyKey: nil, runID: nil, actor: configuration.identifier, now: now)
                try await outbox.setDegradedAlert(raised.alert.id, channel: health.channel)
                logger.error("alerting is degraded", metadata: ["channel": "\(health.channel)", "alert": "\(raised.alert.id)"])
                try await notifier.deliverPending(alertID: raised.alert.id)
            } else if health.failingSince == nil, let id = health.degradedAlertID {
                let alert = try await alerts.alert(id)
                if alert.state != .resolved {
                    _ = try await alerts.resolve(id, actor: configuration.identifier, reason: "\(health.channel) delivers again", now: now)
                    try await notifier.deliverPending(alertID: id)
                }
                try await outbox.setDegradedAlert(nil, channel: health.channel)
            }
        }
    }

    /// What a run's ending means for its alert: `(outcome, resolve, reason)`.
    func judge(_ ended: AlertStore.EndedRun) async throws -> (String, Bool, String) {
        let name = "\(ended.workflow) run \(ended.runID)"
        switch ended.state {
        case .succeeded:
            let steps = try await runs.steps(ofRun: ended.runID)
            if let promotion = steps.first(where: { $0.outputs?["promoted"] == .bool(true) }) {
                let version = promotion.outputs?["version"].map { " version \($0)" } ?? ""
                return ("promoted", true, "\(name) promoted a new model\(version) that passed its guards")
            }
            return ("finished", false, "\(name) finished without promoting a new model; the alert stays open")
        case .cancelled:
            return ("cancelled", false, "\(name) was cancelled; the alert stays open")
        default:
            return ("failed", false, "\(name) failed: \(ended.error ?? "no reason recorded"); the alert stays open")
        }
    }
}
