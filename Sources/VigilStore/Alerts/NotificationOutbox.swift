import Foundation
import PostgresNIO
import VigilWorkflow

/// The notifications waiting to go out, and what became of them: the durable outbox.
///
/// A notification is queued in the transaction that calls for it. Whoever delivers it claims it
/// for a lease (`FOR UPDATE SKIP LOCKED`), so an escalate step and any number of alert keepers
/// never send the same one at once, and one whose sender died is picked up once its lease lapses.
/// A round the receiver did not take leaves it pending until the time ``DeliveryPolicy`` gives;
/// a refused or too old one is dead-lettered until a person retries it. Per alert and channel,
/// notifications go out in the order they were queued: a resolution never overtakes its trigger.
public struct NotificationOutbox: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// A claimed notification with the alert it is about.
    public struct Claim: Sendable {
        public let notification: AlertNotification
        public let alert: Alert
    }

    static let columns = """
        id, alert_id, channel, kind, dedup_key, state, attempts, last_status, last_error, created_at, delivered_at,
        next_attempt_at, last_attempt_at, dead_at
        """

    static func notification(from row: PostgresRow) throws -> AlertNotification {
        let cells = row.makeRandomAccess()
        return AlertNotification(
            id: try cells["id"].decode(Int.self), alertID: try cells["alert_id"].decode(Int.self), channel: try cells["channel"].decode(String.self),
            kind: NotificationKind(rawValue: try cells["kind"].decode(String.self)) ?? .trigger, dedupKey: try cells["dedup_key"].decode(String.self),
            state: NotificationState(rawValue: try cells["state"].decode(String.self)) ?? .pending, attempts: try cells["attempts"].decode(Int.self),
            lastStatus: try cells["last_status"].decode(Int?.self), lastError: try cells["last_error"].decode(String?.self),
            createdAt: try cells["created_at"].decode(Date.self), deliveredAt: try cells["delivered_at"].decode(Date?.self),
            nextAttemptAt: try cells["next_attempt_at"].decode(Date?.self), lastAttemptAt: try cells["last_attempt_at"].decode(Date?.self),
            deadAt: try cells["dead_at"].decode(Date?.self)
        )
    }

    /// Claims due notifications for `lease` seconds: those of one alert, or any queued before
    /// `queuedBefore` or due again after a failed round. Only the oldest pending notification of
    /// an alert to a channel is claimed; a channel whose circuit is open is left alone, and one
    /// whose circuit has just closed again gets one message, the probe.
    public func claim(
        alertID: Int? = nil, queuedBefore: Date? = nil, owner: String, lease: TimeInterval, now: Date, limit: Int = 50
    ) async throws -> [Claim] {
        var bindings = PostgresBindings()
        bindings.append(alertID)
        bindings.append(queuedBefore)
        bindings.append(owner)
        bindings.append(now.addingTimeInterval(lease))
        bindings.append(now)
        bindings.append(limit)
        let claimed = try await database.client.query(PostgresQuery(unsafeSQL: """
            UPDATE alert_notifications SET claimed_by = $3, claimed_until = $4
            WHERE id IN (
                SELECT n.id FROM alert_notifications n
                LEFT JOIN channel_health h ON h.channel = n.channel
                WHERE n.state = 'pending' AND (n.claimed_until IS NULL OR n.claimed_until < $5)
                  AND coalesce(n.next_attempt_at, n.created_at) <= $5
                  AND ($1::int8 IS NULL OR n.alert_id = $1)
                  AND ($2::timestamptz IS NULL OR n.created_at < $2 OR n.next_attempt_at IS NOT NULL)
                  AND (h.open_until IS NULL OR h.open_until <= $5)
                  AND NOT EXISTS (
                      SELECT 1 FROM alert_notifications o
                      WHERE o.alert_id = n.alert_id AND o.channel = n.channel AND o.state = 'pending' AND o.id < n.id
                  )
                  AND (h.open_until IS NULL OR NOT EXISTS (
                      SELECT 1 FROM alert_notifications p
                      WHERE p.channel = n.channel AND p.state = 'pending' AND p.claimed_until >= $5
                  ))
                ORDER BY n.id LIMIT $6 FOR UPDATE OF n SKIP LOCKED
            )
            RETURNING \(Self.columns),
                EXISTS (SELECT 1 FROM channel_health h WHERE h.channel = alert_notifications.channel AND h.open_until IS NOT NULL) AS probing
            """, binds: bindings), logger: database.logger)
        var notifications: [(notification: AlertNotification, probing: Bool)] = []
        for try await row in claimed {
            notifications.append((try Self.notification(from: row), try row.makeRandomAccess()["probing"].decode(Bool.self)))
        }
        // A channel being probed (its circuit opened, and the pause is over) gets one message.
        var probed = Set<String>()
        var kept: [AlertNotification] = []
        var released: [AlertNotification] = []
        for (notification, probing) in notifications.sorted(by: { $0.notification.id < $1.notification.id }) {
            if probing && !probed.insert(notification.channel).inserted { released.append(notification) } else { kept.append(notification) }
        }
        try await release(released)
        var alerts: [Int: Alert] = [:]
        let store = AlertStore(database: database)
        for id in Set(kept.map(\.alertID)) { alerts[id] = try await store.alert(id) }
        return kept.compactMap { notification in
            alerts[notification.alertID].map { Claim(notification: notification, alert: $0) }
        }
    }

    /// How one delivery round of a claimed notification ended.
    public enum RoundEnd: Sendable, Equatable {
        /// The receiver answered as the policy decided.
        case decided(DeliveryDecision)
        /// The channel has no use for this kind of notification.
        case skipped(reason: String)
    }

    /// Records a claimed notification's round: the notification, the alert's history, and its
    /// channel's health, in one transaction.
    ///
    /// - Parameters:
    ///   - attempts: requests made in the round.
    ///   - circuit: when the channel's deliveries pause after failures.
    public func finish(
        _ notification: AlertNotification, _ end: RoundEnd, attempts: Int, status: Int?, circuit: ChannelCircuit = ChannelCircuit(), actor: String, now: Date
    ) async throws {
        try await database.transaction { connection in
            let state: NotificationState, action: String, error: String?, next: Date?
            switch end {
            case .decided(.delivered): (state, action, error, next) = (.delivered, "notified", nil, nil)
            case let .decided(.retry(at, reason)): (state, action, error, next) = (.pending, "delivery_retrying", reason, at)
            case let .decided(.dead(reason)): (state, action, error, next) = (.dead, "dead_lettered", reason, nil)
            case let .skipped(reason): (state, action, error, next) = (.skipped, "notification_skipped", reason, nil)
            }
            try await connection.query("""
                UPDATE alert_notifications SET state = \(state.rawValue), attempts = attempts + \(attempts), last_status = \(status),
                    last_error = \(error), claimed_by = NULL, claimed_until = NULL, next_attempt_at = \(next), last_attempt_at = \(now),
                    delivered_at = CASE WHEN \(state.rawValue) = 'delivered' THEN \(now) ELSE delivered_at END,
                    dead_at = CASE WHEN \(state.rawValue) = 'dead' THEN \(now) ELSE NULL END
                WHERE id = \(notification.id)
                """, logger: database.logger)
            var details: [String: JSONValue] = [
                "channel": .string(notification.channel), "kind": .string(notification.kind.rawValue),
                "dedup_key": .string(notification.dedupKey), "attempts": .number(Double(attempts)),
            ]
            if let status { details["status"] = .number(Double(status)) }
            if let next { details["next_attempt_at"] = .string(ISO8601DateFormatter().string(from: next)) }
            try await AlertChange(connection: connection, logger: database.logger, actor: actor, now: now)
                .record(notification.alertID, action, reason: error, details: details)
            switch end {
            case .decided(.delivered):
                try await recordHealth(of: notification.channel, succeeded: true, error: nil, dead: false, circuit: circuit, now: now, on: connection)
            case .decided(.retry):
                try await recordHealth(of: notification.channel, succeeded: false, error: error, dead: false, circuit: circuit, now: now, on: connection)
            case .decided(.dead):
                try await recordHealth(of: notification.channel, succeeded: status != nil, error: error, dead: true, circuit: circuit, now: now, on: connection)
            case .skipped: break
            }
        }
    }

    /// A channel's health after a round: a success closes its circuit; a failure counts, and
    /// opens the circuit past ``ChannelCircuit/threshold``. A refusal (the receiver answered)
    /// is not a failure of the channel, but its dead letter counts.
    private func recordHealth(
        of channel: String, succeeded: Bool, error: String?, dead: Bool, circuit: ChannelCircuit, now: Date, on connection: PostgresConnection
    ) async throws {
        let rows = try await connection.query("""
            INSERT INTO channel_health AS h (channel, consecutive_failures, failing_since, last_error, last_success_at, dead_letters)
            VALUES (\(channel), \(succeeded ? 0 : 1), \(succeeded ? nil : now), \(error), \(succeeded ? now : nil), \(dead ? 1 : 0))
            ON CONFLICT (channel) DO UPDATE SET
                consecutive_failures = CASE WHEN \(succeeded) THEN 0 ELSE h.consecutive_failures + 1 END,
                failing_since = CASE WHEN \(succeeded) THEN NULL ELSE coalesce(h.failing_since, \(now)) END,
                last_error = coalesce(\(error), h.last_error),
                last_success_at = CASE WHEN \(succeeded) THEN \(now) ELSE h.last_success_at END,
                dead_letters = h.dead_letters + \(dead ? 1 : 0),
                open_until = CASE WHEN \(succeeded) THEN NULL ELSE h.open_until END
            RETURNING consecutive_failures
            """, logger: database.logger)
        for try await failures in rows.decode(Int.self) {
            guard let until = circuit.openUntil(failures: failures, now: now) else { continue }
            try await connection.query("UPDATE channel_health SET open_until = \(until) WHERE channel = \(channel)", logger: database.logger)
        }
    }

    /// Gives claimed notifications back, still pending and unattempted, for another process to deliver.
    public func release(_ notifications: [AlertNotification]) async throws {
        guard !notifications.isEmpty else { return }
        try await database.client.query("""
            UPDATE alert_notifications SET claimed_by = NULL, claimed_until = NULL WHERE id = ANY(\(notifications.map(\.id))::bigint[])
            """, logger: database.logger)
    }

    /// Puts dead notifications back in the queue, due now, and audits it: one by id, or every
    /// dead one of a channel.
    ///
    /// - Returns: the notifications requeued.
    /// - Throws: ``StoreError`` `.notFound` for an unknown id, `.conflict` when it is not dead.
    @discardableResult
    public func retry(id: Int? = nil, channel: String? = nil, actor: String, reason: String?, now: Date) async throws -> [AlertNotification] {
        try await database.transaction { connection in
            if let id {
                let rows = try await connection.query("SELECT state FROM alert_notifications WHERE id = \(id) FOR UPDATE", logger: database.logger).collect()
                guard let row = rows.first else { throw StoreError(.notFound, "no notification \(id)") }
                let state = try row.decode(String.self)
                guard state == NotificationState.dead.rawValue else {
                    throw StoreError(.conflict, "notification \(id) is \(state); only a dead notification is retried")
                }
            }
            let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                UPDATE alert_notifications SET state = 'pending', next_attempt_at = NULL, dead_at = NULL, claimed_by = NULL, claimed_until = NULL
                WHERE state = 'dead' AND ($1::int8 IS NULL OR id = $1) AND ($2::text IS NULL OR channel = $2)
                RETURNING \(Self.columns)
                """, binds: Self.bindings(id, channel)), logger: database.logger)
            var requeued: [AlertNotification] = []
            for try await row in rows { requeued.append(try Self.notification(from: row)) }
            let change = AlertChange(connection: connection, logger: database.logger, actor: actor, now: now)
            for notification in requeued {
                try await change.record(notification.alertID, "delivery_retried", reason: reason,
                                        details: ["channel": .string(notification.channel), "notification": .number(Double(notification.id))])
            }
            try await AuditLog.append(
                actor: actor, action: "notification.retried", subject: id.map { "notification:\($0)" } ?? "channel:\(channel ?? "*")", reason: reason,
                details: ["notifications": .array(requeued.map { .number(Double($0.id)) })], at: now, on: connection, logger: database.logger
            )
            return requeued
        }
    }

    /// An alert's notifications, oldest first.
    public func notifications(ofAlert id: Int) async throws -> [AlertNotification] {
        try await list(alertID: id, limit: 10_000).reversed()
    }

    /// Notifications, newest first, filtered by state, channel, alert or id.
    public func list(
        state: NotificationSelection? = nil, channel: String? = nil, alertID: Int? = nil, limit: Int = 100, id: Int? = nil
    ) async throws -> [AlertNotification] {
        var bindings = PostgresBindings()
        bindings.append(state?.rawValue)
        bindings.append(channel)
        bindings.append(alertID)
        bindings.append(limit)
        bindings.append(id)
        let rows = try await database.client.query(PostgresQuery(unsafeSQL: """
            SELECT \(Self.columns) FROM alert_notifications
            WHERE ($1::text IS NULL OR state = $1 OR ($1 = 'failed' AND state = 'pending' AND last_error IS NOT NULL)) AND ($2::text IS NULL OR channel = $2) AND ($3::int8 IS NULL OR alert_id = $3)
              AND ($5::int8 IS NULL OR id = $5)
            ORDER BY id DESC LIMIT $4
            """, binds: bindings), logger: database.logger)
        var notifications: [AlertNotification] = []
        for try await row in rows { notifications.append(try Self.notification(from: row)) }
        return notifications
    }

    /// What is waiting to go out, for `/metrics`: alert notifications and the other outbound
    /// messages (``OutboundQueue``) together.
    public struct Backlog: Sendable, Equatable {
        public var pending: Int
        /// Seconds since the oldest pending notification was queued; 0 when none is.
        public var oldestPendingAge: Double
        /// Notifications dead-lettered since the outbox began (a counter: retrying does not lower it).
        public var deadLettered: Int
        public var dead: Int
    }

    public func backlog(now: Date) async throws -> Backlog {
        let rows = try await database.client.query("""
            SELECT count(*) FILTER (WHERE state = 'pending'), min(created_at) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'dead'),
                   (SELECT coalesce(sum(dead_letters), 0)::int8 FROM channel_health)
                   + (SELECT count(*) FROM outbound_messages WHERE dead_at IS NOT NULL)
            FROM (SELECT state, created_at FROM alert_notifications WHERE state IN ('pending', 'dead')
                  UNION ALL SELECT state, created_at FROM outbound_messages WHERE state IN ('pending', 'dead')) AS waiting
            """, logger: database.logger).collect()
        guard let row = rows.first else { return Backlog(pending: 0, oldestPendingAge: 0, deadLettered: 0, dead: 0) }
        let (pending, oldest, dead, dying) = try row.decode((Int, Date?, Int, Int).self)
        return Backlog(pending: pending, oldestPendingAge: oldest.map { max(0, now.timeIntervalSince($0)) } ?? 0, deadLettered: dying, dead: dead)
    }

    /// How each channel's deliveries have been going.
    public func channelHealth() async throws -> [ChannelHealth] {
        let rows = try await database.client.query("""
            SELECT channel, consecutive_failures, failing_since, open_until, last_error, last_success_at, dead_letters, degraded_alert_id
            FROM channel_health ORDER BY channel
            """, logger: database.logger)
        var result: [ChannelHealth] = []
        for try await (channel, failures, since, open, error, success, dead, alert) in rows.decode((String, Int, Date?, Date?, String?, Date?, Int, Int?).self) {
            result.append(ChannelHealth(
                channel: channel, consecutiveFailures: failures, failingSince: since, openUntil: open, lastError: error,
                lastSuccessAt: success, deadLetters: dead, degradedAlertID: alert
            ))
        }
        return result
    }

    /// Takes `channel`'s turn to post its open alerts again when it was last refreshed `interval`
    /// or more before `now`, or never; `nil` when its turn has not come (another keeper sharing
    /// the database took it). The alerts are the open ones the channel was told of and has
    /// nothing of still waiting to go out: those the outbox delivers first, in order.
    public func claimRefresh(of channel: String, interval: TimeInterval, now: Date) async throws -> [Alert]? {
        try await database.transaction { connection in
            let turn = try await connection.query("""
                INSERT INTO channel_health AS h (channel, refreshed_at) VALUES (\(channel), \(now))
                ON CONFLICT (channel) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at
                WHERE h.refreshed_at IS NULL OR h.refreshed_at <= \(now.addingTimeInterval(-interval))
                RETURNING channel
                """, logger: database.logger).collect()
            guard !turn.isEmpty else { return nil }
            var bindings = PostgresBindings()
            bindings.append(channel)
            let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT \(AlertStore.columns) FROM alerts
                WHERE state <> 'resolved'
                  AND EXISTS (SELECT 1 FROM alert_notifications n WHERE n.alert_id = alerts.id AND n.channel = $1 AND n.state = 'delivered')
                  AND NOT EXISTS (SELECT 1 FROM alert_notifications n WHERE n.alert_id = alerts.id AND n.channel = $1 AND n.state IN ('pending', 'dead'))
                ORDER BY id
                """, binds: bindings), logger: database.logger)
            var alerts: [Alert] = []
            for try await row in rows { alerts.append(try AlertStore.alert(from: row)) }
            return alerts
        }
    }

    /// Remembers (or forgets, with `nil`) the alert raised while `channel` is degraded.
    public func setDegradedAlert(_ alertID: Int?, channel: String) async throws {
        try await database.client.query("""
            UPDATE channel_health SET degraded_alert_id = \(alertID) WHERE channel = \(channel)
            """, logger: database.logger)
    }

    private static func bindings(_ id: Int?, _ text: String?) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(id)
        bindings.append(text)
        return bindings
    }

    /// Queues a renotification for every hard alert still firing, unacknowledged, past its
    /// deadline, and sets its next deadline. Safe to run from any number of processes at once.
    ///
    /// - Returns: the alerts renotified.
    @discardableResult
    public func queueDueRenotifications(actor: String, now: Date) async throws -> [Int] {
        try await database.transaction { connection in
            let rows = try await connection.query("""
                SELECT id, renotify_at, channels::text FROM alerts
                WHERE state = 'firing' AND renotify_at IS NOT NULL AND renotify_at <= \(now)
                ORDER BY renotify_at LIMIT 100 FOR UPDATE SKIP LOCKED
                """, logger: database.logger)
            var due: [(Int, Date, [String])] = []
            for try await (id, at, channels) in rows.decode((Int, Date, String).self) {
                due.append((id, at, try JSONText.decode([String].self, from: channels)))
            }
            let change = AlertChange(connection: connection, logger: database.logger, actor: actor, now: now)
            for (id, at, channels) in due {
                let queued = try await change.queue(id, kind: .renotify, channels: channels, round: "@\(Int(at.timeIntervalSince1970))")
                try await connection.query("""
                    UPDATE alerts SET renotify_at = \(now) + renotify_after WHERE id = \(id)
                    """, logger: database.logger)
                try await change.record(id, "renotify_due", reason: "still firing and unacknowledged", details: ["channels": .array(queued.map(JSONValue.string))])
            }
            return due.map(\.0)
        }
    }
}

/// How one channel's deliveries have been going (a row of `channel_health`).
public struct ChannelHealth: Sendable, Equatable {
    public let channel: String
    /// Rounds in a row the receiver did not take.
    public let consecutiveFailures: Int
    /// Since when it has been failing; `nil` when its last round succeeded.
    public let failingSince: Date?
    /// Deliveries to it pause until then (its circuit is open).
    public let openUntil: Date?
    public let lastError: String?
    public let lastSuccessAt: Date?
    /// Notifications to it dead-lettered so far.
    public let deadLetters: Int
    /// The alert raised while it is degraded.
    public let degradedAlertID: Int?
}
