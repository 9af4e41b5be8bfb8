import AsyncHTTPClient
import Foundation
import Logging
import VigilStore
import VigilWorkflow

/// Delivers the routing changes the outbox holds (``OutboundQueue/routingTopic``, queued by the
/// database on every change of a model's routing) to the routing webhook: at least once, with
/// the webhook's retry rounds and maximum age, in order per model, a newer routing superseding
/// an older one not yet sent. Each request carries `Idempotency-Key` (one per routing change)
/// and, with a secret, `X-Vigil-Signature-256` as alert webhooks do.
public struct RoutingAnnouncer: Sendable {
    /// How one routing message's round ended.
    public struct Announcement: Sendable {
        public let message: OutboundMessage
        public let state: OutboundMessage.State
        public let error: String?
    }

    let queue: OutboundQueue
    /// The routing webhook; `nil` when none is configured.
    let destination: ChannelConfiguration?
    let client: HTTPClient
    let clock: any EngineClock
    let actor: String
    let logger: Logger

    public init(
        database: Database, destination: ChannelConfiguration?, client: HTTPClient = .shared, clock: any EngineClock = SystemClock(),
        actor: String = "vigil", logger: Logger
    ) {
        queue = OutboundQueue(database: database)
        self.destination = destination
        self.client = client
        self.clock = clock
        self.actor = actor
        self.logger = logger
    }

    /// Delivers the due routing messages, of `model` only when given, and with `queuedBefore`
    /// only those queued before it or tried already (newer ones are being sent by the step that
    /// made the change). Without a routing webhook, every pending one is marked skipped at once:
    /// nothing waits for a receiver nobody configured.
    @discardableResult
    public func deliverPending(model: String? = nil, queuedBefore: Date? = nil) async throws -> [Announcement] {
        let lease = (destination?.roundTime ?? 0) + 10
        var announcements: [Announcement] = []
        let claimed = try await queue.claim(
            topic: OutboundQueue.routingTopic, subject: model, queuedBefore: destination == nil ? nil : queuedBefore, owner: actor, lease: lease, now: clock.now()
        )
        for message in claimed {
            guard let destination else {
                let reason = "no routing webhook is configured (routing_webhook in the channels file, or VIGIL_ROUTING_WEBHOOK_URL)"
                try await queue.finish(message, .skipped(reason: reason), attempts: 0, status: nil, owner: actor, now: clock.now())
                announcements.append(Announcement(message: message, state: .skipped, error: reason))
                continue
            }
            announcements.append(try await deliver(message, to: destination))
        }
        return announcements
    }

    private func deliver(_ message: OutboundMessage, to destination: ChannelConfiguration) async throws -> Announcement {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = try encoder.encode(message.body)
        var headers = [
            ("Content-Type", "application/json"), ("User-Agent", "vigil"), ("Idempotency-Key", message.dedupKey), ("X-Vigil-Event", message.topic),
        ]
        if let secret = destination.secret, !secret.isEmpty {
            headers.append(("X-Vigil-Signature-256", "sha256=" + ChannelMessage.signature(of: body, secret: secret)))
        }
        let round = await ChannelSender(client: client).deliver(
            ChannelMessage(url: destination.url, headers: headers, body: body), on: destination, requestsSoFar: message.attempts, queuedAt: message.createdAt, clock: clock
        )
        try await queue.finish(message, .decided(round.decision), attempts: round.requests, status: round.answer.status, owner: actor, now: round.endedAt)
        let metadata: Logger.Metadata = ["model": "\(message.subject)", "message": "\(message.id)"]
        switch round.decision {
        case .delivered:
            logger.info("routing announced", metadata: metadata)
            return Announcement(message: message, state: .delivered, error: nil)
        case let .retry(at, reason):
            logger.warning("routing not announced; trying again later", metadata: metadata.merging(["error": "\(reason)", "next": "\(at)"]) { $1 })
            return Announcement(message: message, state: .pending, error: reason)
        case let .dead(reason):
            logger.error("routing announcement dead-lettered", metadata: metadata.merging(["error": "\(reason)"]) { $1 })
            return Announcement(message: message, state: .dead, error: reason)
        }
    }
}
