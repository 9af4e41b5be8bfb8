import Foundation
import PostgresNIO
import VigilWorkflow

/// A message Vigil sends other than an alert notification: a model's routing, for the serving
/// layer. Written in the transaction of the change it announces (see migration 0014).
public struct OutboundMessage: Sendable {
    public enum State: String, Sendable, CaseIterable {
        /// Not delivered yet: waiting for its first round, or for the next after a failed one.
        case pending
        case delivered
        /// Given up (refused by the receiver, or too old).
        case dead
        /// A newer message of the same subject was written before this one went out, and
        /// carries the whole state: only the newer one is sent.
        case superseded
        /// Nobody is configured to receive it.
        case skipped
    }

    public let id: Int
    /// What kind of message: ``OutboundQueue/routingTopic``.
    public let topic: String
    /// What it is about (the model): messages of one subject go out one at a time, in order.
    public let subject: String
    /// The JSON the receiver gets.
    public let body: JSONValue
    public let state: State
    public let attempts: Int
    public let lastStatus: Int?
    public let lastError: String?
    public let createdAt: Date
    public let nextAttemptAt: Date?
    public let deliveredAt: Date?

    /// The key receivers deduplicate by, the same on every delivery of this message.
    public var dedupKey: String { "vigil-\(topic)-\(id)" }
}

/// The outbox of ``OutboundMessage``s: claimed with a lease, one at a time per subject, and
/// finished by the round's ``DeliveryDecision``, as alert notifications are in
/// ``NotificationOutbox``.
public struct OutboundQueue: Sendable {
    /// A model's routing (`model_routing` as JSON), queued on every change of it.
    public static let routingTopic = "routing"

    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// The columns a message is read from, qualified by `table` (its name or alias).
    static func columns(of table: String) -> String {
        ["id", "topic", "subject", "body::text AS body", "state", "attempts", "last_status", "last_error", "created_at", "next_attempt_at", "delivered_at"]
            .map { "\(table).\($0)" }.joined(separator: ", ")
    }

    static func message(from row: PostgresRow) throws -> OutboundMessage {
        let cells = row.makeRandomAccess()
        return OutboundMessage(
            id: try cells["id"].decode(Int.self), topic: try cells["topic"].decode(String.self), subject: try cells["subject"].decode(String.self),
            body: try JSONText.decode(JSONValue.self, from: try cells["body"].decode(String.self)),
            state: OutboundMessage.State(rawValue: try cells["state"].decode(String.self)) ?? .pending, attempts: try cells["attempts"].decode(Int.self),
            lastStatus: try cells["last_status"].decode(Int?.self), lastError: try cells["last_error"].decode(String?.self),
            createdAt: try cells["created_at"].decode(Date.self), nextAttemptAt: try cells["next_attempt_at"].decode(Date?.self),
            deliveredAt: try cells["delivered_at"].decode(Date?.self)
        )
    }

    /// Leases to `owner` until `now + lease` the oldest pending message of each subject of
    /// `topic` that is due, when no other message of that subject is in flight; `subject` limits
    /// it to one. Other senders skip what is leased.
    public func claim(topic: String, subject: String? = nil, queuedBefore: Date? = nil, owner: String, lease: TimeInterval, now: Date, limit: Int = 20) async throws -> [OutboundMessage] {
        var bindings = PostgresBindings()
        bindings.append(topic)
        bindings.append(subject)
        bindings.append(now)
        bindings.append(owner)
        bindings.append(now.addingTimeInterval(lease))
        bindings.append(limit)
        bindings.append(queuedBefore)
        let rows = try await database.client.query(PostgresQuery(unsafeSQL: """
            WITH heads AS (
                SELECT DISTINCT ON (subject) id FROM outbound_messages
                WHERE topic = $1 AND state = 'pending' AND ($2::text IS NULL OR subject = $2)
                ORDER BY subject, id
            ), due AS (
                SELECT m.id FROM outbound_messages m JOIN heads h ON h.id = m.id
                WHERE (m.next_attempt_at IS NULL OR m.next_attempt_at <= $3) AND (m.claimed_until IS NULL OR m.claimed_until < $3)
                  AND ($7::timestamptz IS NULL OR m.created_at < $7 OR m.attempts > 0)
                  AND NOT EXISTS (SELECT 1 FROM outbound_messages o
                                  WHERE o.topic = m.topic AND o.subject = m.subject AND o.id <> m.id AND o.claimed_until >= $3)
                ORDER BY m.id LIMIT $6 FOR UPDATE OF m SKIP LOCKED
            )
            UPDATE outbound_messages m SET claimed_by = $4, claimed_until = $5 FROM due WHERE m.id = due.id
            RETURNING \(Self.columns(of: "m"))
            """, binds: bindings), logger: database.logger)
        var messages: [OutboundMessage] = []
        for try await row in rows { messages.append(try Self.message(from: row)) }
        return messages.sorted { $0.id < $1.id }
    }

    /// Records a claimed message's round. A message superseded while in flight stays superseded;
    /// a dead letter is audited.
    ///
    /// - Parameters:
    ///   - attempts: requests made in the round.
    public func finish(
        _ message: OutboundMessage, _ end: NotificationOutbox.RoundEnd, attempts: Int, status: Int?, owner: String, now: Date
    ) async throws {
        let state: OutboundMessage.State, error: String?, next: Date?
        switch end {
        case .decided(.delivered): (state, error, next) = (.delivered, nil, nil)
        case let .decided(.retry(at, reason)): (state, error, next) = (.pending, reason, at)
        case let .decided(.dead(reason)): (state, error, next) = (.dead, reason, nil)
        case let .skipped(reason): (state, error, next) = (.skipped, reason, nil)
        }
        try await database.transaction { connection in
            let rows = try await connection.query("""
                UPDATE outbound_messages SET
                    state = CASE WHEN state = 'pending' THEN \(state.rawValue) ELSE state END,
                    attempts = attempts + \(attempts), last_status = \(status), last_error = \(error), next_attempt_at = \(next), last_attempt_at = \(now),
                    delivered_at = CASE WHEN state = 'pending' AND \(state.rawValue) = 'delivered' THEN \(now) ELSE delivered_at END,
                    dead_at = CASE WHEN state = 'pending' AND \(state.rawValue) = 'dead' THEN \(now) ELSE dead_at END,
                    claimed_by = NULL, claimed_until = NULL
                WHERE id = \(message.id) AND claimed_by = \(owner)
                RETURNING state
                """, logger: database.logger)
            for try await recorded in rows.decode(String.self) where recorded == OutboundMessage.State.dead.rawValue && state == .dead {
                try await AuditLog.append(
                    actor: owner, action: "\(message.topic).dead_lettered", subject: "model:\(message.subject)", reason: error,
                    details: ["message": .number(Double(message.id)), "dedup_key": .string(message.dedupKey), "status": status.map { .number(Double($0)) } ?? .null],
                    at: now, on: connection, logger: database.logger
                )
            }
        }
    }

    /// Messages of `topic`, newest first, optionally of one subject or state.
    public func list(topic: String, subject: String? = nil, state: OutboundMessage.State? = nil, limit: Int = 100) async throws -> [OutboundMessage] {
        var bindings = PostgresBindings()
        bindings.append(topic)
        bindings.append(subject)
        bindings.append(state?.rawValue)
        bindings.append(limit)
        let rows = try await database.client.query(PostgresQuery(unsafeSQL: """
            SELECT \(Self.columns(of: "outbound_messages")) FROM outbound_messages
            WHERE topic = $1 AND ($2::text IS NULL OR subject = $2) AND ($3::text IS NULL OR state = $3)
            ORDER BY id DESC LIMIT $4
            """, binds: bindings), logger: database.logger)
        var messages: [OutboundMessage] = []
        for try await row in rows { messages.append(try Self.message(from: row)) }
        return messages
    }
}
