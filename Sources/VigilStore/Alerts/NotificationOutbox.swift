import Foundation
import PostgresNIO
import VigilWorkflow

/// The notifications waiting to go out, and what became of them.
///
/// A notification is queued in the transaction that calls for it; whoever delivers it first claims
/// it for a lease (`FOR UPDATE SKIP LOCKED`), so an escalate step and any number of alert keepers
/// never send the same one twice, and one whose sender died is picked up once its lease lapses.
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
        id, alert_id, channel, kind, dedup_key, state, attempts, last_status, last_error, created_at, delivered_at
        """

    static func notification(from row: PostgresRow) throws -> AlertNotification {
        let cells = row.makeRandomAccess()
        return AlertNotification(
            id: try cells["id"].decode(Int.self), alertID: try cells["alert_id"].decode(Int.self), channel: try cells["channel"].decode(String.self),
            kind: NotificationKind(rawValue: try cells["kind"].decode(String.self)) ?? .trigger, dedupKey: try cells["dedup_key"].decode(String.self),
            state: NotificationState(rawValue: try cells["state"].decode(String.self)) ?? .pending, attempts: try cells["attempts"].decode(Int.self),
            lastStatus: try cells["last_status"].decode(Int?.self), lastError: try cells["last_error"].decode(String?.self),
            createdAt: try cells["created_at"].decode(Date.self), deliveredAt: try cells["delivered_at"].decode(Date?.self)
        )
    }

    /// Claims pending notifications for `lease` seconds: those of one alert, or any queued before `queuedBefore`.
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
                SELECT id FROM alert_notifications
                WHERE state = 'pending' AND (claimed_until IS NULL OR claimed_until < $5)
                  AND ($1::int8 IS NULL OR alert_id = $1) AND ($2::timestamptz IS NULL OR created_at < $2)
                ORDER BY id LIMIT $6 FOR UPDATE SKIP LOCKED
            )
            RETURNING \(Self.columns)
            """, binds: bindings), logger: database.logger)
        var notifications: [AlertNotification] = []
        for try await row in claimed { notifications.append(try Self.notification(from: row)) }
        var alerts: [Int: Alert] = [:]
        let store = AlertStore(database: database)
        for id in Set(notifications.map(\.alertID)) { alerts[id] = try await store.alert(id) }
        return notifications.sorted { $0.id < $1.id }.compactMap { notification in
            alerts[notification.alertID].map { Claim(notification: notification, alert: $0) }
        }
    }

    /// Records how a claimed notification's delivery went, in the notification and the alert's history.
    public func finish(
        _ notification: AlertNotification, state: NotificationState, attempts: Int, status: Int?, error: String?, actor: String, now: Date
    ) async throws {
        try await database.transaction { connection in
            try await connection.query("""
                UPDATE alert_notifications SET state = \(state.rawValue), attempts = attempts + \(attempts), last_status = \(status),
                    last_error = \(error), claimed_by = NULL, claimed_until = NULL,
                    delivered_at = CASE WHEN \(state.rawValue) = 'delivered' THEN \(now) ELSE delivered_at END
                WHERE id = \(notification.id)
                """, logger: database.logger)
            let action = switch state {
            case .delivered: "notified"
            case .failed: "delivery_failed"
            case .skipped, .pending: "notification_skipped"
            }
            var details: [String: JSONValue] = [
                "channel": .string(notification.channel), "kind": .string(notification.kind.rawValue),
                "dedup_key": .string(notification.dedupKey), "attempts": .number(Double(attempts)),
            ]
            if let status { details["status"] = .number(Double(status)) }
            try await AlertChange(connection: connection, logger: database.logger, actor: actor, now: now)
                .record(notification.alertID, action, reason: error, details: details)
        }
    }

    /// Gives claimed notifications back, still pending and unattempted, for another process to deliver.
    public func release(_ notifications: [AlertNotification]) async throws {
        guard !notifications.isEmpty else { return }
        try await database.client.query("""
            UPDATE alert_notifications SET claimed_by = NULL, claimed_until = NULL WHERE id = ANY(\(notifications.map(\.id))::bigint[])
            """, logger: database.logger)
    }

    /// Puts an alert's failed notifications back in the queue (a retried escalate step tries them again).
    public func requeueFailed(alertID: Int) async throws {
        try await database.client.query("""
            UPDATE alert_notifications SET state = 'pending', claimed_by = NULL, claimed_until = NULL WHERE alert_id = \(alertID) AND state = 'failed'
            """, logger: database.logger)
    }

    /// An alert's notifications, oldest first.
    public func notifications(ofAlert id: Int) async throws -> [AlertNotification] {
        let rows = try await database.client.query(PostgresQuery(
            unsafeSQL: "SELECT \(Self.columns) FROM alert_notifications WHERE alert_id = $1 ORDER BY id", binds: try PostgresBindings(values: id)
        ), logger: database.logger)
        var notifications: [AlertNotification] = []
        for try await row in rows { notifications.append(try Self.notification(from: row)) }
        return notifications
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
