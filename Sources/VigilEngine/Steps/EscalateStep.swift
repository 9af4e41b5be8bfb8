import AsyncHTTPClient
import Foundation
import VigilStore
import VigilWorkflow

/// `escalate`: turns an evaluation into an alert and tells the right people and systems, once.
///
/// - `severity: soft|hard` raises the alert named `alert` (default `<model>-drift`) or updates the
///   open one with the same fingerprint (model, alert, subject); a soft alert that worsens becomes
///   hard. Notifications go to `channels[severity]`, except within `quiet_period` of the last one
///   for the fingerprint; a hard alert left unacknowledged is paged again every `renotify_after`
///   (a durable timer the alert keeper fires). A hard alert starts the workflows whose `alert:`
///   trigger matches it, one run per incident.
/// - `slices` (an evaluate step's `slices` output, from `for_each_slice`) does the same for each
///   slice, with the slice (`region=eu`) as the alert's subject: one incident per slice, each
///   raised, escalated and resolved on its own.
/// - `severity: none` counts a clear window; after `resolve_after` of them in a row the alert
///   resolves and every channel that heard of it hears so.
///
/// A retried attempt has the same idempotency key: it neither counts the finding twice nor
/// notifies twice; it only retries deliveries that failed. Channels come from the deployment
/// (``ChannelDirectory``), never from the workflow file.
public struct EscalateStep: WorkflowStep {
    public struct Parameters: Decodable, Sendable {
        let severity: String?
        let slices: [SliceFinding]?
        let reasons: [String]?
        let channels: [String: [String]]?
        let renotifyAfter: WorkflowDuration?
        let quietPeriod: WorkflowDuration?
        let alert: String?
        let subject: String?
        let labels: [String: String]?
        let resolveAfter: Int?
        let window: String?

        enum CodingKeys: String, CodingKey {
            case severity, slices, reasons, channels, alert, subject, labels, window
            case renotifyAfter = "renotify_after", quietPeriod = "quiet_period", resolveAfter = "resolve_after"
        }
    }

    public static var schema: StepSchema { StepCatalog.builtIn.schemas["escalate"]! }

    let channels: ChannelDirectory?
    let client: HTTPClient

    /// - Parameter channels: where notifications go; `nil` reads ``ChannelDirectory/load(environment:file:)`` at each run.
    public init(channels: ChannelDirectory? = nil, client: HTTPClient = .shared) {
        self.channels = channels
        self.client = client
    }

    public func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        guard let model = context.workflow.model else {
            return .failed("the escalate step needs the workflow to declare `model`", retryable: false)
        }
        let findings: [SliceFinding]
        switch (parameters.severity, parameters.slices) {
        case let (severity?, nil): findings = [SliceFinding(slice: nil, severity: severity, reasons: parameters.reasons ?? [])]
        case let (nil, slices?): findings = slices
        case (_?, _?): return .failed("give `severity` or `slices`, not both", retryable: false)
        case (nil, nil): return .failed("escalate needs `severity` (or `slices`, from an evaluate step's for_each_slice)", retryable: false)
        }
        if let wrong = findings.first(where: { $0.severity != "none" && AlertSeverity(rawValue: $0.severity) == nil }) {
            return .failed("severity must be none, soft or hard (got '\(wrong.severity)'\(wrong.slice.map { " for \($0)" } ?? ""))", retryable: false)
        }
        let directory: ChannelDirectory
        do {
            directory = try channels ?? ChannelDirectory.load()
        } catch {
            return .failed("cannot read the channels configuration: \(error)", retryable: false)
        }
        let actor = "workflow:\(context.workflow.name)#\(context.runID)"
        let notifier = AlertNotifier(database: context.database, channels: directory, client: client, clock: context.clock, actor: actor, logger: context.logger)
        let metrics = MetricsStore(database: context.database)
        let latest = try await metrics.recentWindows(model: model, count: 1).first
        var handled: [Handled] = []
        // A slice's alert shows what drifted in that slice, from the slice's own latest window;
        // one read gives every value of a slicing expression.
        var sliceWindows: [String: [String: [WindowReport]]] = [:]
        for finding in findings {
            var shown = latest
            if let key = finding.key, let value = finding.value {
                if sliceWindows[key] == nil { sliceWindows[key] = try await metrics.recentSliceWindows(model: model, key: key, count: 1) }
                shown = sliceWindows[key]?[value]?.first
            }
            handled.append(try await escalate(finding, parameters, model: model, latest: shown, notifier: notifier, actor: actor, in: context))
        }
        guard parameters.slices != nil else { return try await outcome(handled[0], context: context) }
        return try await outcome(slices: zip(findings, handled).map { ($0.slice ?? "", $1) }, context: context)
    }

    /// One slice's finding as an `evaluate` step's `slices` output lists it (`slice` `nil`: the
    /// model's): `slice` names it (`region=eu`), `key` and `value` are its slicing expression and value.
    struct SliceFinding: Decodable, Sendable {
        var slice: String?
        var key: String?
        var value: String?
        var severity: String
        var reasons: [String]
    }

    /// What escalating one finding did.
    struct Handled {
        var alert: Alert?
        var escalated = false
        var deliveries: [AlertNotifier.Delivery] = []
        var runs: [Int] = []
    }

    /// Raises, updates or clears the alert of one finding; a slice's alert has the slice as its
    /// subject (so one incident per slice) and a `slice` label.
    private func escalate(
        _ slice: SliceFinding, _ parameters: Parameters, model: String, latest: WindowReport?, notifier: AlertNotifier, actor: String,
        in context: StepContext
    ) async throws -> Handled {
        var finding = AlertFinding(model: model, rule: parameters.alert ?? "\(model)-drift", subject: slice.slice ?? parameters.subject ?? "model", severity: .soft)
        let window = parameters.window ?? latest.map { MonitorStep.format($0.end) }

        guard let severity = AlertSeverity(rawValue: slice.severity) else {
            let alert = try await AlertStore(database: context.database).clear(fingerprint: finding.fingerprint, window: window, actor: actor, now: context.clock.now())
            guard let alert else { return Handled() }
            await context.log(["condition clear for alert \(alert.id) (\(alert.clearWindows) of \(alert.resolveAfter) windows)" + (alert.state == .resolved ? ": resolved" : "")])
            return Handled(alert: alert, deliveries: try await notifier.deliverPending(alertID: alert.id))
        }

        finding.severity = severity
        finding.labels = parameters.labels ?? [:]
        if let name = slice.slice { finding.labels["slice"] = name }
        finding.channels = parameters.channels?[severity.rawValue] ?? []
        finding.renotifyAfter = parameters.renotifyAfter?.seconds
        finding.quietPeriod = parameters.quietPeriod?.seconds
        finding.resolveAfter = max(1, parameters.resolveAfter ?? 3)
        finding.details = Self.details(reasons: slice.reasons, latest: latest, slice: Slice(key: slice.key, value: slice.value), context: context)
        if let name = slice.slice { finding.details["slice"] = .string(name) }
        // Each slice's alert is its own raise within the attempt, so each has its own key.
        let key = slice.slice.map { "\(context.idempotencyKey)/\($0)" } ?? context.idempotencyKey
        let raise = try await AlertStore(database: context.database).raise(
            finding, idempotencyKey: key, runID: context.runID, actor: actor, now: context.clock.now()
        )
        let alert = raise.alert
        await context.log([
            raise.replayed ? "alert \(alert.id) already raised by this step; retrying its deliveries"
                : "\(raise.opened ? "opened" : raise.escalated ? "escalated" : "updated") \(alert.severity.rawValue) alert \(alert.id) (\(alert.state.rawValue), seen \(alert.occurrences)×)"
                    + (slice.slice.map { " for \($0)" } ?? ""),
        ] + (raise.queued.isEmpty ? [] : ["notifying \(raise.queued.joined(separator: ", "))"]))
        let deliveries = try await notifier.deliverPending(alertID: alert.id)

        var runs: [Int] = []
        if alert.severity == .hard && (alert.state == .firing || alert.state == .acknowledged) {
            for (workflow, creation) in try await AlertRunStarter(database: context.database, clock: context.clock).startRuns(for: alert, actor: "alert:\(alert.id)") {
                switch creation {
                case let .created(run): runs.append(run); await context.log(["started \(workflow) run \(run)"])
                case let .existing(run): runs.append(run)
                case let .skipped(other): await context.log(["\(workflow) not started: run \(other) is going (concurrency policy skip)"])
                }
            }
        }
        let alertNode = LineageNode(kind: "alert", id: String(alert.id))
        try await context.recordLineage(from: context.runNode, to: alertNode, relation: "raised")
        if let latest {
            let window = LineageNode(kind: "data_window", id: "\(model):\(MonitorStep.format(latest.start))/\(MonitorStep.format(latest.end))")
            try await context.recordLineage(from: window, to: alertNode, relation: "drifted")
        }
        return Handled(alert: alert, escalated: raise.escalated, deliveries: deliveries, runs: runs)
    }

    /// The step's outputs. A notification its receiver did not take stays in the outbox, which
    /// delivers it later (or dead-letters it, see docs/escalation.md): the step's work, raising
    /// the alert and queueing its notifications, is done either way.
    private func outcome(_ handled: Handled, context: StepContext) async throws -> StepOutcome {
        await log(handled.deliveries, context: context)
        guard let alert = handled.alert else {
            return .completed(["alert_id": .string(""), "notified": .array([]), "escalated": .bool(false), "state": .string("none")])
        }
        return .completed([
            "alert_id": .string(String(alert.id)), "notified": .array(Self.notified(handled).map(JSONValue.string)), "escalated": .bool(handled.escalated),
            "undelivered": .array(Self.undelivered(handled).map(JSONValue.string)),
            "state": .string(alert.state.rawValue), "fingerprint": .string(alert.fingerprint),
            "runs": .array(handled.runs.map { .number(Double($0)) }),
        ])
    }

    /// The outputs for slices: `alerts` lists each slice's alert; `alert_id` is the slices'
    /// alert ids, comma-separated; the other outputs join the slices'.
    private func outcome(slices: [(name: String, handled: Handled)], context: StepContext) async throws -> StepOutcome {
        var alerts: [JSONValue] = []
        for (name, handled) in slices {
            await log(handled.deliveries, context: context)
            guard let alert = handled.alert else { continue }
            alerts.append(.object([
                "slice": .string(name), "alert_id": .string(String(alert.id)), "state": .string(alert.state.rawValue),
                "severity": .string(alert.severity.rawValue), "escalated": .bool(handled.escalated), "fingerprint": .string(alert.fingerprint),
                "notified": .array(Self.notified(handled).map(JSONValue.string)),
            ]))
        }
        let all = slices.map(\.handled)
        return .completed([
            "alert_id": .string(all.compactMap { $0.alert.map { String($0.id) } }.joined(separator: ",")),
            "notified": .array(all.flatMap(Self.notified).map(JSONValue.string)), "escalated": .bool(all.contains { $0.escalated }),
            "undelivered": .array(all.flatMap(Self.undelivered).map(JSONValue.string)),
            "state": .string(all.contains { $0.alert.map { $0.state == .firing || $0.state == .acknowledged } == true } ? "firing" : "none"),
            "runs": .array(all.flatMap(\.runs).map { .number(Double($0)) }),
            "alerts": .array(alerts),
        ])
    }

    private func log(_ deliveries: [AlertNotifier.Delivery], context: StepContext) async {
        for delivery in deliveries {
            let next = delivery.nextAttemptAt.map { ", trying again at \(MonitorStep.format($0))" } ?? ""
            await context.log(["\(delivery.notification.kind.rawValue) → \(delivery.notification.channel): \(delivery.state.rawValue)\(next)\(delivery.error.map { ": \($0)" } ?? "")"],
                              stream: delivery.error == nil ? "stdout" : "stderr")
        }
    }

    private static func notified(_ handled: Handled) -> [String] {
        handled.deliveries.filter { $0.state == .delivered }.map(\.notification.channel)
    }

    private static func undelivered(_ handled: Handled) -> [String] {
        handled.deliveries.filter { $0.state == .pending || $0.state == .dead }.map(\.notification.channel)
    }

    /// What the alert shows: the reasons, the top drifted features of the latest window (of
    /// `slice`, for a slice's alert) with their scores and its drivers, the window, and the run
    /// that found them.
    static func details(reasons: [String], latest: WindowReport?, slice: Slice = .overall, context: StepContext) -> [String: JSONValue] {
        var details: [String: JSONValue] = [
            "reasons": .array(reasons.map(JSONValue.string)), "run": .number(Double(context.runID)),
            "workflow": .string(context.workflow.name), "step": .string(context.stepName),
        ]
        if let latest {
            let drifted = latest.drift.filter { $0.sliceKey == slice.key && $0.sliceValue == slice.value && $0.drifted }.sorted { $0.driftScore > $1.driftScore }
            details["drifted_features"] = .array(drifted.prefix(10).map {
                .object(["feature": .string($0.featureName), "score": .number($0.driftScore), "method": .string($0.method), "role": .string($0.columnRole)])
            })
            details["drivers"] = .array(latest.drivers.prefix(3).map { driver in
                var fields: [String: JSONValue] = ["feature": .string(driver.feature), "share": .number(driver.share), "drift_share": .number(driver.driftShare)]
                fields["classifier_share"] = driver.classifierShare.map(JSONValue.number)
                fields["importance_share"] = driver.importanceShare.map(JSONValue.number)
                fields["reference_importance"] = driver.referenceImportance.map(JSONValue.number)
                fields["current_importance"] = driver.currentImportance.map(JSONValue.number)
                return .object(fields)
            })
            details["window_start"] = .string(MonitorStep.format(latest.start))
            details["window_end"] = .string(MonitorStep.format(latest.end))
        }
        return details
    }
}
