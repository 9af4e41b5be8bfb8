import Foundation
import PostgresNIO
import VigilWorkflow

/// Alerts in PostgreSQL: raising and updating them, their history, and the actions people take.
///
/// Every change happens in one transaction with the events it records and the notifications it
/// queues (the outbox, see ``NotificationOutbox``), under a lock on the fingerprint, so any number
/// of workers raising the same finding at once leave one open alert and one set of notifications.
public struct AlertStore: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// The columns ``alert(from:)`` reads.
    static let columns = """
        id, fingerprint, model, rule, subject, source, severity, state, labels::text AS labels, findings::text AS findings,
        started_at, first_seen, last_seen, occurrences, escalated_at, clear_windows, last_clear_window, resolve_after, channels::text AS channels,
        renotify_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolution, false_positive, status_reason
        """

    static func alert(from row: PostgresRow) throws -> Alert {
        let cells = row.makeRandomAccess()
        return Alert(
            id: try cells["id"].decode(Int.self), fingerprint: try cells["fingerprint"].decode(String.self),
            model: try cells["model"].decode(String.self), rule: try cells["rule"].decode(String.self),
            subject: try cells["subject"].decode(String.self), source: try cells["source"].decode(String.self),
            severity: AlertSeverity(rawValue: try cells["severity"].decode(String.self)) ?? .soft,
            state: AlertState(rawValue: try cells["state"].decode(String.self)) ?? .firing,
            labels: try JSONText.decode([String: String].self, from: cells["labels"].decode(String.self)),
            findings: try JSONText.decode([String: JSONValue].self, from: cells["findings"].decode(String.self)),
            startedAt: try cells["started_at"].decode(Date.self), firstSeen: try cells["first_seen"].decode(Date.self),
            lastSeen: try cells["last_seen"].decode(Date.self), occurrences: try cells["occurrences"].decode(Int.self),
            escalatedAt: try cells["escalated_at"].decode(Date?.self), clearWindows: try cells["clear_windows"].decode(Int.self),
            lastClearWindow: try cells["last_clear_window"].decode(String?.self),
            resolveAfter: try cells["resolve_after"].decode(Int.self),
            channels: try JSONText.decode([String].self, from: cells["channels"].decode(String.self)),
            renotifyAt: try cells["renotify_at"].decode(Date?.self),
            acknowledgedAt: try cells["acknowledged_at"].decode(Date?.self), acknowledgedBy: try cells["acknowledged_by"].decode(String?.self),
            resolvedAt: try cells["resolved_at"].decode(Date?.self), resolvedBy: try cells["resolved_by"].decode(String?.self),
            resolution: try cells["resolution"].decode(String?.self), falsePositive: try cells["false_positive"].decode(Bool.self),
            statusReason: try cells["status_reason"].decode(String?.self)
        )
    }

    // MARK: Reading

    /// One alert.
    ///
    /// - Throws: ``StoreError`` `notFound` when there is no such alert.
    public func alert(_ id: Int) async throws -> Alert {
        let rows = try await database.client.query(PostgresQuery(unsafeSQL: "SELECT \(Self.columns) FROM alerts WHERE id = $1", binds: try PostgresBindings(values: id)), logger: database.logger)
        for try await row in rows { return try Self.alert(from: row) }
        throw StoreError(.notFound, "no alert \(id); `vigil alerts list` shows them")
    }

    /// Alerts, newest first, optionally only in `states` or of `model`.
    public func list(states: [AlertState] = [], model: String? = nil, since: Date? = nil, limit: Int = 100) async throws -> [Alert] {
        var bindings = PostgresBindings()
        bindings.append(states.map(\.rawValue))
        bindings.append(model)
        bindings.append(since)
        bindings.append(limit)
        let sql = """
            SELECT \(Self.columns) FROM alerts
            WHERE (cardinality($1::text[]) = 0 OR state = ANY($1)) AND ($2::text IS NULL OR model = $2) AND ($3::timestamptz IS NULL OR last_seen >= $3)
            ORDER BY last_seen DESC, id DESC LIMIT $4
            """
        var alerts: [Alert] = []
        for try await row in try await database.client.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: database.logger) {
            alerts.append(try Self.alert(from: row))
        }
        return alerts
    }

    /// The open alert with this fingerprint, if there is one.
    public func openAlert(fingerprint: String) async throws -> Alert? {
        let rows = try await database.client.query(
            PostgresQuery(unsafeSQL: "SELECT \(Self.columns) FROM alerts WHERE fingerprint = $1 AND state <> 'resolved'", binds: try PostgresBindings(values: fingerprint)),
            logger: database.logger
        )
        for try await row in rows { return try Self.alert(from: row) }
        return nil
    }

    /// An alert's history, oldest first.
    public func events(ofAlert id: Int) async throws -> [AlertEvent] {
        let rows = try await database.client.query("""
            SELECT id, alert_id, at, actor, action, reason, details::text FROM alert_events WHERE alert_id = \(id) ORDER BY id
            """, logger: database.logger)
        var events: [AlertEvent] = []
        for try await (id, alert, at, actor, action, reason, details) in rows.decode((Int, Int, Date, String, String, String?, String).self) {
            events.append(AlertEvent(id: id, alertID: alert, at: at, actor: actor, action: action, reason: reason,
                                     details: try JSONText.decode([String: JSONValue].self, from: details)))
        }
        return events
    }

    /// The runs an alert started, with their outcome once they ended.
    public func runs(ofAlert id: Int) async throws -> [(runID: Int, workflow: String, outcome: String?)] {
        let rows = try await database.client.query(
            "SELECT run_id, workflow, outcome FROM alert_runs WHERE alert_id = \(id) ORDER BY run_id", logger: database.logger
        )
        var runs: [(runID: Int, workflow: String, outcome: String?)] = []
        for try await (run, workflow, outcome) in rows.decode((Int, String, String?).self) { runs.append((run, workflow, outcome)) }
        return runs
    }

    // MARK: Raising

    /// Raises `finding`: opens an alert, or updates the open one with the same fingerprint (a
    /// soft alert that worsens becomes hard), and queues the notifications this calls for.
    ///
    /// - Parameter idempotencyKey: the reporting step attempt's key; reporting the same key again
    ///   changes nothing and returns the alert as it is.
    public func raise(_ finding: AlertFinding, idempotencyKey: String?, runID: Int?, actor: String, now: Date) async throws -> AlertRaise {
        try await database.transaction { connection in
            if let idempotencyKey, let alertID = try await Self.reportedAlert(idempotencyKey, on: connection, logger: database.logger) {
                let alert = try await Self.lockedAlert(id: alertID, on: connection, logger: database.logger)
                return AlertRaise(alert: alert, opened: false, escalated: false, queued: [], replayed: true)
            }
            let fingerprint = finding.fingerprint
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("vigil:alert:" + fingerprint)))", logger: database.logger)
            let silenced = try await Self.isSilenced(model: finding.model, rule: finding.rule, now: now, on: connection, logger: database.logger)
            let change = AlertChange(connection: connection, logger: database.logger, actor: actor, now: now)
            let raise: AlertRaise
            if let open = try await Self.lockedOpenAlert(fingerprint: fingerprint, on: connection, logger: database.logger) {
                raise = try await change.update(open, with: finding, silenced: silenced, runID: runID)
            } else {
                raise = try await change.open(finding, silenced: silenced, runID: runID)
            }
            if let idempotencyKey {
                try await connection.query("""
                    INSERT INTO alert_findings (idempotency_key, alert_id, severity, findings, run_id, recorded_at)
                    VALUES (\(idempotencyKey), \(raise.alert.id), \(finding.severity.rawValue), \(try JSONText.encode(finding.details))::jsonb, \(runID), \(now))
                    """, logger: database.logger)
            }
            return raise
        }
    }

    /// Records that the condition behind `fingerprint` was clear in `window` (an evaluation that
    /// found nothing). After the alert's `resolve_after` consecutive clear windows it resolves,
    /// and every channel that heard of it hears the resolution.
    ///
    /// - Returns: the open alert as it now is, or `nil` when none was open.
    @discardableResult
    public func clear(fingerprint: String, window: String?, actor: String, now: Date) async throws -> Alert? {
        try await database.transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("vigil:alert:" + fingerprint)))", logger: database.logger)
            guard let open = try await Self.lockedOpenAlert(fingerprint: fingerprint, on: connection, logger: database.logger) else { return nil }
            if let window, window == open.lastClearWindow { return open }
            try await connection.query("""
                UPDATE alerts SET clear_windows = clear_windows + 1, last_clear_window = \(window) WHERE id = \(open.id)
                """, logger: database.logger)
            let change = AlertChange(connection: connection, logger: database.logger, actor: actor, now: now)
            let cleared = open.clearWindows + 1
            guard cleared >= open.resolveAfter else {
                try await change.record(open.id, "clear", reason: "condition clear (\(cleared) of \(open.resolveAfter) windows)", details: window.map { ["window": .string($0)] } ?? [:])
                return try await Self.lockedAlert(id: open.id, on: connection, logger: database.logger)
            }
            return try await change.resolve(open, reason: "condition clear for \(cleared) consecutive windows")
        }
    }

    // MARK: Locking helpers

    static func reportedAlert(_ key: String, on connection: PostgresConnection, logger: Logger) async throws -> Int? {
        let rows = try await connection.query("SELECT alert_id FROM alert_findings WHERE idempotency_key = \(key)", logger: logger)
        for try await id in rows.decode(Int?.self) { return id }
        return nil
    }

    static func lockedOpenAlert(fingerprint: String, on connection: PostgresConnection, logger: Logger) async throws -> Alert? {
        let rows = try await connection.query(PostgresQuery(
            unsafeSQL: "SELECT \(columns) FROM alerts WHERE fingerprint = $1 AND state <> 'resolved' FOR UPDATE", binds: try PostgresBindings(values: fingerprint)
        ), logger: logger)
        for try await row in rows { return try alert(from: row) }
        return nil
    }

    static func lockedAlert(id: Int, on connection: PostgresConnection, logger: Logger) async throws -> Alert {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT \(columns) FROM alerts WHERE id = $1 FOR UPDATE", binds: try PostgresBindings(values: id)), logger: logger)
        for try await row in rows { return try alert(from: row) }
        throw StoreError(.notFound, "no alert \(id); `vigil alerts list` shows them")
    }

    static func isSilenced(model: String, rule: String, now: Date, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("""
            SELECT count(*)::int8 FROM alert_silences
            WHERE model = \(model) AND (rule IS NULL OR rule = \(rule)) AND starts_at <= \(now) AND ends_at > \(now)
            """, logger: logger)
        for try await count in rows.decode(Int.self) { return count > 0 }
        return false
    }
}
