import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import VigilStore

/// Delivers queued notifications to their channels and records how each went.
///
/// Each request has the channel's timeout; network errors, 5xx and 429 are retried with doubling
/// backoff up to the channel's attempts; any other status fails at once. Endpoints and secrets never
/// appear in what is recorded or logged: only the channel's name and the receiver's host.
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

    /// How delivering one notification went.
    public struct Delivery: Sendable {
        public let notification: AlertNotification
        public let state: NotificationState
        /// One line, without secrets, when it failed.
        public let error: String?
    }

    /// Delivers the pending notifications of one alert, or (with `alertID` nil) every pending one
    /// queued before `queuedBefore`.
    ///
    /// - Parameter onlyConfigured: leave notifications for channels this process does not know
    ///   pending for a process that does (the CLI), instead of failing them.
    @discardableResult
    public func deliverPending(alertID: Int? = nil, queuedBefore: Date? = nil, onlyConfigured: Bool = false) async throws -> [Delivery] {
        let outbox = NotificationOutbox(database: database)
        let lease = channels.channels.values.map { $0.timeout * Double($0.attempts) + $0.backoff * pow(2, Double($0.attempts)) }.max() ?? 60
        let claims = try await outbox.claim(alertID: alertID, queuedBefore: queuedBefore, owner: actor, lease: lease + 30, now: clock.now())
        var deliveries: [Delivery] = []
        var unconfigured: [AlertNotification] = []
        for claim in claims {
            guard let channel = channels[claim.notification.channel] else {
                if onlyConfigured { unconfigured.append(claim.notification); continue }
                let error = "channel '\(claim.notification.channel)' is not configured (set it in the channels file or VIGIL_* environment; see docs/escalation.md)"
                try await outbox.finish(claim.notification, state: .failed, attempts: 0, status: nil, error: error, actor: actor, now: clock.now())
                deliveries.append(Delivery(notification: claim.notification, state: .failed, error: error))
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
            try await outbox.finish(notification, state: .skipped, attempts: 0, status: nil,
                                    error: "\(channel.kind.rawValue) has no \(notification.kind.rawValue) notifications", actor: actor, now: clock.now())
            return Delivery(notification: notification, state: .skipped, error: nil)
        }
        let (status, error, attempts) = await send(message, on: channel)
        let state: NotificationState = error == nil ? .delivered : .failed
        try await outbox.finish(notification, state: state, attempts: attempts, status: status, error: error, actor: actor, now: clock.now())
        if let error {
            logger.warning("notification not delivered", metadata: ["alert": "\(notification.alertID)", "channel": "\(channel.name)", "error": "\(error)"])
        } else {
            logger.info("notification delivered", metadata: ["alert": "\(notification.alertID)", "channel": "\(channel.name)", "kind": "\(notification.kind.rawValue)"])
        }
        return Delivery(notification: notification, state: state, error: error)
    }

    /// Sends with retries: `(last status, error or nil, attempts made)`.
    private func send(_ message: ChannelMessage, on channel: ChannelConfiguration) async -> (Int?, String?, Int) {
        var lastStatus: Int?
        var lastError = ""
        for attempt in 1...max(1, channel.attempts) {
            if attempt > 1 {
                let wait = channel.backoff * pow(2, Double(attempt - 2))
                do { try await Task.sleep(for: .milliseconds(Int64(wait * 1_000))) } catch { return (lastStatus, "cancelled while retrying", attempt - 1) }
            }
            var request = HTTPClientRequest(url: message.url)
            request.method = .POST
            for (name, value) in message.headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(bytes: message.body))
            do {
                let response = try await client.execute(request, timeout: .milliseconds(Int64(channel.timeout * 1_000)))
                let body = try await response.body.collect(upTo: 64 << 10)
                let status = Int(response.status.code)
                lastStatus = status
                if (200..<300).contains(status) { return (status, nil, attempt) }
                lastError = "\(channel.name) (\(channel.kind.rawValue) at \(channel.redactedURL)) answered \(status): \(String(buffer: body).prefix(200))"
                guard status >= 500 || status == 429 else { return (status, lastError, attempt) }
            } catch {
                lastError = "\(channel.name) (\(channel.kind.rawValue) at \(channel.redactedURL)) did not answer: \(Self.describe(error))"
            }
        }
        return (lastStatus, "\(lastError) (after \(channel.attempts) attempt\(channel.attempts == 1 ? "" : "s"))", channel.attempts)
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
