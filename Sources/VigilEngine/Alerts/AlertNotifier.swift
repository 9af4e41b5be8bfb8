import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import VigilStore

/// Delivers queued notifications to their channels and records how each round went.
///
/// A round is up to the channel's `attempts` requests, each with the channel's timeout, retrying
/// network errors, 5xx, 408 and 429 after a short doubling wait. What the round ends with goes
/// to the channel's ``DeliveryPolicy``: delivered, tried again later (the notification stays
/// pending in the outbox), or dead-lettered. Endpoints and secrets never appear in what is
/// recorded or logged: only the channel's name and the receiver's host.
public struct AlertNotifier: Sendable {
    public let database: Database
    public let channels: ChannelDirectory
    let client: HTTPClient
    let clock: any EngineClock
    let logger: Logger
    /// Who deliveries are recorded as.
    let actor: String

    public init(
        database: Database, channels: ChannelDirectory, client: HTTPClient = .shared, clock: any EngineClock = SystemClock(),
        actor: String = "vigil", logger: Logger
    ) {
        self.database = database
        self.channels = channels
        self.client = client
        self.clock = clock
        self.actor = actor
        self.logger = logger
    }

    /// How one round of one notification went.
    public struct Delivery: Sendable {
        public let notification: AlertNotification
        /// `pending` when it will be tried again at `nextAttemptAt`.
        public let state: NotificationState
        /// One line, without secrets, when the round failed.
        public let error: String?
        public let nextAttemptAt: Date?
    }

    /// Delivers the due notifications of one alert, or (with `alertID` nil) every due one queued
    /// before `queuedBefore` or waiting for another round.
    ///
    /// - Parameter onlyConfigured: leave notifications for channels this process does not know
    ///   pending for a process that does (the CLI), instead of dead-lettering them.
    @discardableResult
    public func deliverPending(alertID: Int? = nil, queuedBefore: Date? = nil, onlyConfigured: Bool = false) async throws -> [Delivery] {
        let outbox = NotificationOutbox(database: database)
        let lease = channels.channels.values.map(\.roundTime).max() ?? 60
        let claims = try await outbox.claim(alertID: alertID, queuedBefore: queuedBefore, owner: actor, lease: lease + 10, now: clock.now())
        var deliveries: [Delivery] = []
        var unconfigured: [AlertNotification] = []
        for claim in claims {
            guard let channel = channels[claim.notification.channel] else {
                if onlyConfigured { unconfigured.append(claim.notification); continue }
                let error = "channel '\(claim.notification.channel)' is not configured (set it in the channels file or VIGIL_* environment; see docs/escalation.md)"
                try await outbox.finish(claim.notification, .decided(.dead(reason: error)), attempts: 0, status: nil, actor: actor, now: clock.now())
                deliveries.append(Delivery(notification: claim.notification, state: .dead, error: error, nextAttemptAt: nil))
                continue
            }
            deliveries.append(try await deliver(claim, on: channel, outbox: outbox))
        }
        try await outbox.release(unconfigured)
        return deliveries
    }

    private func deliver(_ claim: NotificationOutbox.Claim, on channel: ChannelConfiguration, outbox: NotificationOutbox) async throws -> Delivery {
        let notification = claim.notification
        guard let message = try ChannelMessage.make(for: claim, channel: channel, publicURL: channels.publicURL, now: clock.now()) else {
            let reason = "\(channel.kind.rawValue) has no \(notification.kind.rawValue) notifications"
            try await outbox.finish(notification, .skipped(reason: reason), attempts: 0, status: nil, actor: actor, now: clock.now())
            return Delivery(notification: notification, state: .skipped, error: nil, nextAttemptAt: nil)
        }
        let round = await ChannelSender(client: client).deliver(message, on: channel, requestsSoFar: notification.attempts, queuedAt: notification.createdAt, clock: clock)
        try await outbox.finish(notification, .decided(round.decision), attempts: round.requests, status: round.answer.status, circuit: channel.circuit,
                                actor: actor, now: round.endedAt)
        let metadata: Logger.Metadata = ["alert": "\(notification.alertID)", "channel": "\(channel.name)", "kind": "\(notification.kind.rawValue)"]
        switch round.decision {
        case .delivered:
            logger.info("notification delivered", metadata: metadata)
            return Delivery(notification: notification, state: .delivered, error: nil, nextAttemptAt: nil)
        case let .retry(at, reason):
            logger.warning("notification not delivered; trying again later", metadata: metadata.merging(["error": "\(reason)", "next": "\(at)"]) { $1 })
            return Delivery(notification: notification, state: .pending, error: reason, nextAttemptAt: at)
        case let .dead(reason):
            logger.error("notification dead-lettered", metadata: metadata.merging(["error": "\(reason)"]) { $1 })
            return Delivery(notification: notification, state: .dead, error: reason, nextAttemptAt: nil)
        }
    }

    /// Posts again the open alerts each Alertmanager channel knows, on channels whose
    /// ``ChannelConfiguration/refresh`` has come round, so that Alertmanager keeps them firing.
    /// A failed refresh is logged and left to the next: the alerts' `endsAt` allows three.
    public func refreshAlertmanagers() async throws {
        let outbox = NotificationOutbox(database: database)
        for channel in channels.channels.values.sorted(by: { $0.name < $1.name }) where channel.kind == .alertmanager {
            let now = clock.now()
            guard let alerts = try await outbox.claimRefresh(of: channel.name, interval: channel.refresh, now: now), !alerts.isEmpty else { continue }
            let message = try ChannelMessage.alertmanagerRefresh(of: alerts, channel: channel, publicURL: channels.publicURL, now: now)
            let (answer, _) = await ChannelSender(client: client).round(message, on: channel)
            if case .accepted = answer {
                logger.debug("alerts posted to Alertmanager again", metadata: ["channel": "\(channel.name)", "alerts": "\(alerts.count)"])
            } else {
                logger.warning("could not post alerts to Alertmanager again; the next refresh tries", metadata: ["channel": "\(channel.name)", "answer": "\(answer)"])
            }
        }
    }

    /// A network error in words, without the request's URL (which may carry a secret).
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return "timed out"
            case .remoteConnectionClosed: return "the connection was closed"
            default: return "\(error)"
            }
        }
        let text = "\(error)"
        return text.contains("refused") ? "connection refused" : String(text.prefix(200))
    }
}
