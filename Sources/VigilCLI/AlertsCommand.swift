import ArgumentParser
import Foundation
import VigilEngine
import VigilStore
import VigilWorkflow

/// `vigil alerts`: what is firing, and what people do about it. Every action is recorded with
/// who (the operating-system user, or `--as`), when and why.
struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "List and show alerts; acknowledge, resolve, silence, or mark them as false positives.",
        subcommands: [List.self, Show.self, Ack.self, Resolve.self, Silence.self, FalsePositive.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List alerts, most recently seen first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only alerts in this state (\(AlertState.allCases.map(\.rawValue).joined(separator: ", "))); repeatable.") var state: [String] = []
        @Option(help: "Only this model's alerts.") var model: String?
        @Option(help: "At most this many, 1 to 100000.") var limit = 50
        @Option(help: "table or json.") var format: ReportFormat = .table

        func validate() throws { try ListLimit.check(limit) }

        func run() async throws {
            let states = try state.map { text in
                guard let state = AlertState(rawValue: text) else {
                    throw ValidationError("unknown state '\(text)' (expected \(AlertState.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return state
            }
            let alerts = try await global.withDatabase(logger: global.makeLogger()) { database in
                try await AlertStore(database: database).list(states: states, model: model, limit: limit)
            }
            if format == .json {
                print(try JSONOutput.encode(alerts.map(AlertJSON.init)))
                return
            }
            var table = TextTable(["id", "model", "alert", "severity", "state", "seen", "first_seen", "last_seen", "summary"])
            let formatter = ISO8601DateFormatter()
            for alert in alerts {
                table.append([String(alert.id), alert.model, alert.rule, alert.severity.rawValue, alert.state.rawValue + (alert.falsePositive ? " (false positive)" : ""),
                              "\(alert.occurrences)×", formatter.string(from: alert.firstSeen), formatter.string(from: alert.lastSeen),
                              String(AlertJSON(alert).summary.prefix(80))])
            }
            print(format == .csv ? table.csv : table.rendered, terminator: "")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an alert: its findings, notifications, runs, and full history.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The alert.") var id: Int

        func run() async throws {
            try await global.withDatabase(logger: global.makeLogger()) { database in
                let store = AlertStore(database: database)
                let alert = try await store.alert(id)
                let formatter = ISO8601DateFormatter()
                print("alert \(alert.id): \(alert.rule) on \(alert.model) (\(alert.subject)), \(alert.severity.rawValue), \(alert.state.rawValue)\(alert.falsePositive ? ", false positive" : "")")
                print("fingerprint \(alert.fingerprint), source \(alert.source), seen \(alert.occurrences)× from \(formatter.string(from: alert.firstSeen)) to \(formatter.string(from: alert.lastSeen))")
                if let by = alert.acknowledgedBy, let at = alert.acknowledgedAt { print("acknowledged by \(by) at \(formatter.string(from: at))") }
                if let by = alert.resolvedBy, let at = alert.resolvedAt { print("resolved by \(by) at \(formatter.string(from: at)): \(alert.resolution ?? "")") }
                if let reason = alert.statusReason { print("status: \(reason)") }
                if !alert.findings.isEmpty { print("findings: \(try JSONOutput.encode(alert.findings))") }
                let notifications = try await NotificationOutbox(database: database).notifications(ofAlert: id)
                if !notifications.isEmpty {
                    print("\nnotifications:")
                    print(NotificationJSON.table(notifications, csv: false), terminator: "")
                }
                let runs = try await store.runs(ofAlert: id)
                if !runs.isEmpty {
                    print("\nruns started:")
                    for run in runs { print("  run \(run.runID) of \(run.workflow)\(run.outcome.map { ": \($0)" } ?? ": going")") }
                }
                print("\nhistory:")
                var history = TextTable(["at", "actor", "action", "reason"])
                for event in try await store.events(ofAlert: id) {
                    history.append([formatter.string(from: event.at), event.actor, event.action, event.reason ?? ""])
                }
                print(history.rendered, terminator: "")
            }
        }
    }

    struct Ack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Acknowledge an alert: it is not paged again.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var action: AlertAction

        func run() async throws {
            try await act(global) { store, now in try await store.acknowledge(action.id, actor: global.actor, reason: action.reason, now: now) }
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resolve an alert by hand; every channel that heard of it hears so.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var action: AlertAction

        func run() async throws {
            try await act(global) { store, now in try await store.resolve(action.id, actor: global.actor, reason: action.reason, now: now) }
        }
    }

    struct FalsePositive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "false-positive", abstract: "Mark an alert as a false positive (counts against alert precision); an open one is resolved."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var action: AlertAction

        func run() async throws {
            try await act(global) { store, now in try await store.markFalsePositive(action.id, actor: global.actor, reason: action.reason, now: now) }
        }
    }

    struct Silence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Silence a model's alerts for a while: recorded, but no one is notified.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The model.") var model: String
        @Option(help: "Only this alert name (default: every alert of the model).") var alert: String?
        @Option(name: .customLong("for"), help: "How long, such as 2h.") var duration: String
        @Option(help: "Why (recorded).") var reason: String

        func run() async throws {
            guard let length = WorkflowDuration(duration), length.seconds > 0 else {
                throw ValidationError("--for must be a duration from 1s to 36500d, such as 30m or 2h")
            }
            let (silence, silenced) = try await global.withDatabase(logger: global.makeLogger()) { database in
                try await AlertStore(database: database).silence(model: model, rule: alert, for: length.seconds, actor: global.actor, reason: reason, now: Date())
            }
            print("silence \(silence): \(model)\(alert.map { " \($0)" } ?? "") until \(ISO8601DateFormatter().string(from: Date().addingTimeInterval(length.seconds)))"
                  + (silenced.isEmpty ? "" : "; silenced open alert\(silenced.count == 1 ? "" : "s") \(silenced.map(String.init).joined(separator: ", "))"))
        }
    }
}

/// The alert a person acts on, and why.
struct AlertAction: ParsableArguments {
    @Argument(help: "The alert.") var id: Int
    @Option(help: "Why (recorded).") var reason: String
}

/// Runs an action on one alert, then delivers what it queued to the channels this process knows
/// (the rest wait for `vigil serve`'s alert keeper).
private func act(_ global: GlobalOptions, _ action: @Sendable (AlertStore, Date) async throws -> Alert) async throws {
    let logger = global.makeLogger()
    let channels: ChannelDirectory
    do {
        channels = try ChannelDirectory.load()
    } catch {
        throw CommandFailure("\(error)")
    }
    try await global.withDatabase(logger: logger) { database in
        let alert: Alert
        alert = try await action(AlertStore(database: database), Date())
        print("alert \(alert.id): \(alert.state.rawValue)\(alert.falsePositive ? " (false positive)" : "")")
        let notifier = AlertNotifier(database: database, channels: channels, actor: global.actor, logger: logger)
        for delivery in try await notifier.deliverPending(alertID: alert.id, onlyConfigured: true) {
            print("  \(delivery.notification.kind.rawValue) → \(delivery.notification.channel): \(delivery.state.rawValue)\(delivery.error.map { " (\($0))" } ?? "")")
        }
    }
}

/// An alert as `--format json` prints it.
struct AlertJSON: Encodable {
    let id: Int
    let fingerprint: String
    let model: String
    let alert: String
    let subject: String
    let source: String
    let severity: String
    let state: String
    let falsePositive: Bool
    let occurrences: Int
    let firstSeen: String
    let lastSeen: String
    let summary: String
    let findings: [String: JSONValue]
    let statusReason: String?

    init(_ alert: Alert) {
        let formatter = ISO8601DateFormatter()
        id = alert.id
        fingerprint = alert.fingerprint
        model = alert.model
        self.alert = alert.rule
        subject = alert.subject
        source = alert.source
        severity = alert.severity.rawValue
        state = alert.state.rawValue
        falsePositive = alert.falsePositive
        occurrences = alert.occurrences
        firstSeen = formatter.string(from: alert.firstSeen)
        lastSeen = formatter.string(from: alert.lastSeen)
        if case let .array(reasons)? = alert.findings["reasons"], !reasons.isEmpty {
            summary = reasons.compactMap(\.stringValue).joined(separator: "; ")
        } else {
            summary = alert.resolution ?? ""
        }
        findings = alert.findings
        statusReason = alert.statusReason
    }

    enum CodingKeys: String, CodingKey {
        case id, fingerprint, model, alert, subject, source, severity, state, occurrences, summary, findings
        case falsePositive = "false_positive", firstSeen = "first_seen", lastSeen = "last_seen", statusReason = "status_reason"
    }
}
