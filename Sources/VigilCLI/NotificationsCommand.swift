import ArgumentParser
import Foundation
import VigilEngine
import VigilStore

/// `vigil notifications`: the outbox of everything Vigil sends, and what became of it.
struct NotificationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifications",
        abstract: "List queued, delivered and dead-lettered notifications; retry dead ones.",
        subcommands: [List.self, Retry.self, Channels.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List notifications, newest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this state (\(NotificationSelection.allCases.map(\.rawValue).joined(separator: ", "))).") var state: String?
        @Option(help: "Only this channel's.") var channel: String?
        @Option(help: "Only this alert's.") var alert: Int?
        @Option(help: "At most this many, 1 to 100000.") var limit = 50
        @Option(help: "table, csv or json.") var format: ReportFormat = .table

        func validate() throws {
            try ListLimit.check(limit)
            if let state, NotificationSelection(rawValue: state) == nil {
                throw ValidationError("unknown state '\(state)' (expected \(NotificationSelection.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }

        func run() async throws {
            let notifications = try await global.withDatabase(logger: global.makeLogger()) { database in
                try await NotificationOutbox(database: database).list(
                    state: state.flatMap(NotificationSelection.init(rawValue:)), channel: channel, alertID: alert, limit: limit
                )
            }
            if format == .json {
                print(try JSONOutput.encode(notifications.map(NotificationJSON.init)))
                return
            }
            print(NotificationJSON.table(notifications, csv: format == .csv), terminator: "")
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send dead-lettered notifications again: one by id, or every dead one of a channel (audited)."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The notification.") var id: Int?
        @Option(help: "Every dead notification of this channel.") var channel: String?
        @Option(help: "Why, for the audit log.") var reason: String?

        func validate() throws {
            guard (id == nil) != (channel == nil) else { throw ValidationError("give a notification id or --channel, not both") }
        }

        func run() async throws {
            let logger = global.makeLogger()
            let channels: ChannelDirectory
            do { channels = try ChannelDirectory.load() } catch { throw CommandFailure("\(error)") }
            try await global.withDatabase(logger: logger) { database in
                let outbox = NotificationOutbox(database: database)
                let requeued = try await outbox.retry(id: id, channel: channel, actor: global.actor, reason: reason, now: Date())
                guard !requeued.isEmpty else { throw CommandFailure("no dead notification\(channel.map { " on channel '\($0)'" } ?? "") to retry") }
                print("requeued \(requeued.count) notification\(requeued.count == 1 ? "" : "s")")
                let notifier = AlertNotifier(database: database, channels: channels, actor: global.actor, logger: logger)
                for alertID in Set(requeued.map(\.alertID)).sorted() {
                    for delivery in try await notifier.deliverPending(alertID: alertID, onlyConfigured: true) {
                        print("  \(delivery.notification.id) \(delivery.notification.kind.rawValue) → \(delivery.notification.channel): \(delivery.state.rawValue)\(delivery.error.map { " (\($0))" } ?? "")")
                    }
                }
            }
        }
    }

    struct Channels: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "How each channel's deliveries have been going.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let health = try await global.withDatabase(logger: global.makeLogger()) { database in
                try await NotificationOutbox(database: database).channelHealth()
            }
            let formatter = ISO8601DateFormatter()
            var table = TextTable(["channel", "failing_rounds", "failing_since", "paused_until", "last_success", "dead_letters", "last_error"])
            for channel in health {
                table.append([
                    channel.channel, String(channel.consecutiveFailures), channel.failingSince.map(formatter.string) ?? "",
                    channel.openUntil.map(formatter.string) ?? "", channel.lastSuccessAt.map(formatter.string) ?? "",
                    String(channel.deadLetters), String((channel.lastError ?? "").prefix(120)),
                ])
            }
            print(table.rendered, terminator: "")
        }
    }
}

/// A notification as `--format json` prints it.
struct NotificationJSON: Encodable {
    let id: Int
    let alert: Int
    let channel: String
    let kind: String
    let state: String
    let attempts: Int
    let lastStatus: Int?
    let lastError: String?
    let dedupKey: String
    let createdAt: Date
    let deliveredAt: Date?
    let nextAttemptAt: Date?
    let deadAt: Date?

    init(_ notification: AlertNotification) {
        id = notification.id
        alert = notification.alertID
        channel = notification.channel
        kind = notification.kind.rawValue
        state = notification.state.rawValue
        attempts = notification.attempts
        lastStatus = notification.lastStatus
        lastError = notification.lastError
        dedupKey = notification.dedupKey
        createdAt = notification.createdAt
        deliveredAt = notification.deliveredAt
        nextAttemptAt = notification.nextAttemptAt
        deadAt = notification.deadAt
    }

    enum CodingKeys: String, CodingKey {
        case id, alert, channel, kind, state, attempts
        case lastStatus = "last_status", lastError = "last_error", dedupKey = "dedup_key", createdAt = "created_at"
        case deliveredAt = "delivered_at", nextAttemptAt = "next_attempt_at", deadAt = "dead_at"
    }

    static func table(_ notifications: [AlertNotification], csv: Bool) -> String {
        let formatter = ISO8601DateFormatter()
        var table = TextTable(["id", "alert", "channel", "kind", "state", "attempts", "status", "queued", "next_attempt", "error"])
        for notification in notifications {
            table.append([
                String(notification.id), String(notification.alertID), notification.channel, notification.kind.rawValue, notification.state.rawValue,
                String(notification.attempts), notification.lastStatus.map(String.init) ?? "", formatter.string(from: notification.createdAt),
                notification.nextAttemptAt.map(formatter.string) ?? "", String((notification.lastError ?? "").prefix(160)),
            ])
        }
        return csv ? table.csv : table.rendered
    }
}
