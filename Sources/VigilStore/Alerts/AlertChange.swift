import Foundation
import Logging
import PostgresNIO
import VigilWorkflow

/// The changes to one alert inside a transaction the caller holds (with the alert locked): each
/// writes the alert, records an event, and queues the notifications it calls for.
struct AlertChange {
    let connection: PostgresConnection
    let logger: Logger
    let actor: String
    let now: Date

    /// Opens an alert for `finding`.
    func open(_ finding: AlertFinding, silenced: Bool, runID: Int?) async throws -> AlertRaise {
        let state: AlertState = silenced ? .silenced : .firing
        var bindings = PostgresBindings()
        bindings.append(finding.fingerprint)
        bindings.append(finding.model)
        bindings.append(finding.rule)
        bindings.append(finding.subject)
        bindings.append(finding.source)
        bindings.append(finding.severity.rawValue)
        bindings.append(state.rawValue)
        bindings.append(try JSONText.encode(finding.labels))
        bindings.append(try JSONText.encode(finding.details))
        bindings.append(finding.startedAt ?? now)
        bindings.append(now)
        bindings.append(finding.severity == .hard ? now : nil)
        bindings.append(finding.resolveAfter)
        bindings.append(try JSONText.encode(finding.channels))
        bindings.append(finding.renotifyAfter)
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            INSERT INTO alerts (fingerprint, model, rule, subject, source, severity, state, labels, findings, started_at, first_seen, last_seen,
                                escalated_at, resolve_after, channels, renotify_after)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11, $11, $12, $13, $14::jsonb, make_interval(secs => $15))
            RETURNING id
            """, binds: bindings), logger: logger)
        var id = 0
        for try await value in rows.decode(Int.self) { id = value }
        try await record(id, "raised", reason: Self.summary(finding), details: ["severity": .string(finding.severity.rawValue), "run": runID.map { .number(Double($0)) } ?? .null])
        var queued: [String] = []
        if silenced {
            try await record(id, "silenced", reason: "a silence of \(finding.model) is in force: recorded, no one notified")
        } else {
            queued = try await notifyUnlessQuiet(id, finding: finding, kind: .trigger)
        }
        try await scheduleRenotification(id, finding: finding, notified: !queued.isEmpty)
        let alert = try await AlertStore.lockedAlert(id: id, on: connection, logger: logger)
        return AlertRaise(alert: alert, opened: true, escalated: false, queued: queued, replayed: false)
    }

    /// Updates the open alert `open` with a finding that fired again.
    func update(_ open: Alert, with finding: AlertFinding, silenced: Bool, runID: Int?) async throws -> AlertRaise {
        let escalated = open.severity == .soft && finding.severity == .hard
        let severity = max(open.severity, finding.severity)
        let channels = finding.severity == severity ? finding.channels : open.channels
        var state = open.state
        if open.state == .silenced && !silenced { state = .firing }
        var labels = open.labels
        labels.merge(finding.labels) { _, new in new }
        var bindings = PostgresBindings()
        bindings.append(open.id)
        bindings.append(now)
        bindings.append(try JSONText.encode(finding.severity == severity ? finding.details : open.findings))
        bindings.append(try JSONText.encode(labels))
        bindings.append(severity.rawValue)
        bindings.append(escalated)
        bindings.append(try JSONText.encode(channels))
        bindings.append(state.rawValue)
        bindings.append(finding.severity == severity ? finding.renotifyAfter : nil)
        try await connection.query(PostgresQuery(unsafeSQL: """
            UPDATE alerts SET last_seen = $2, occurrences = occurrences + 1, findings = $3::jsonb, labels = $4::jsonb, severity = $5,
                escalated_at = CASE WHEN $6 THEN $2 ELSE escalated_at END, channels = $7::jsonb, state = $8, clear_windows = 0,
                last_clear_window = NULL, renotify_after = coalesce(make_interval(secs => $9), renotify_after),
                status_reason = CASE WHEN $6 THEN NULL ELSE status_reason END
            WHERE id = $1
            """, binds: bindings), logger: logger)
        let details: [String: JSONValue] = ["severity": .string(finding.severity.rawValue), "run": runID.map { .number(Double($0)) } ?? .null]
        var queued: [String] = []
        if escalated {
            try await record(open.id, "escalated", reason: Self.summary(finding), details: details)
            if state == .firing { queued = try await queue(open.id, kind: .escalate, channels: channels) }
        } else {
            try await record(open.id, "fired_again", reason: Self.summary(finding), details: details)
        }
        if open.state == .silenced && state == .firing {
            try await record(open.id, "unsilenced", reason: "no silence is in force any more")
            queued += try await notifyUnlessQuiet(open.id, finding: finding, kind: .trigger)
        }
        if state == .firing && severity == .hard && (open.renotifyAt == nil || !queued.isEmpty) {
            try await scheduleRenotification(open.id, finding: finding, notified: !queued.isEmpty || open.state == .firing)
        }
        let alert = try await AlertStore.lockedAlert(id: open.id, on: connection, logger: logger)
        return AlertRaise(alert: alert, opened: false, escalated: escalated, queued: queued, replayed: false)
    }

    /// Resolves `open`; every channel that heard of it hears the resolution.
    func resolve(_ open: Alert, reason: String) async throws -> Alert {
        try await connection.query("""
            UPDATE alerts SET state = 'resolved', resolved_at = \(now), resolved_by = \(actor), resolution = \(reason), renotify_at = NULL
            WHERE id = \(open.id)
            """, logger: logger)
        try await record(open.id, "resolved", reason: reason)
        _ = try await queue(open.id, kind: .resolve, channels: try await channelsThatHeard(open.id))
        return try await AlertStore.lockedAlert(id: open.id, on: connection, logger: logger)
    }

    /// The channels a notification of this alert went to (or is on its way to).
    func channelsThatHeard(_ id: Int) async throws -> [String] {
        let rows = try await connection.query("""
            SELECT DISTINCT channel FROM alert_notifications
            WHERE alert_id = \(id) AND kind IN ('trigger', 'escalate', 'renotify') AND state IN ('pending', 'delivered')
            ORDER BY channel
            """, logger: logger)
        var channels: [String] = []
        for try await channel in rows.decode(String.self) { channels.append(channel) }
        return channels
    }

    /// The actions that are decisions with consequences or people's acts: they also go to the audit log.
    static let audited: Set = [
        "escalated", "acknowledged", "resolved", "silenced", "unsilenced", "false_positive", "run_started", "run_ended", "dead_lettered",
    ]

    /// Appends to the alert's history (and, for ``audited`` actions, to the audit log).
    func record(_ id: Int, _ action: String, reason: String? = nil, details: [String: JSONValue] = [:]) async throws {
        try await connection.query("""
            INSERT INTO alert_events (alert_id, at, actor, action, reason, details)
            VALUES (\(id), \(now), \(actor), \(action), \(reason), \(try JSONText.encode(details))::jsonb)
            """, logger: logger)
        let isHardRaise = action == "raised" && details["severity"] == .string("hard")
        if Self.audited.contains(action) || isHardRaise {
            try await AuditLog.append(actor: actor, action: "alert.\(action)", subject: "alert:\(id)", reason: reason, details: details,
                                      at: now, on: connection, logger: logger)
        }
    }

    /// Queues one notification per channel; a dedup key already queued is not queued again.
    ///
    /// - Parameter round: tells repeated notifications of one kind apart (renotifications).
    func queue(_ id: Int, kind: NotificationKind, channels: [String], round: String = "") async throws -> [String] {
        var queued: [String] = []
        for channel in channels {
            let key = "vigil-\(id)/\(channel)/\(kind.rawValue)\(round)"
            let rows = try await connection.query("""
                INSERT INTO alert_notifications (alert_id, channel, kind, dedup_key, created_at, severity)
                VALUES (\(id), \(channel), \(kind.rawValue), \(key), \(now), (SELECT severity FROM alerts WHERE id = \(id)))
                ON CONFLICT (dedup_key) DO NOTHING RETURNING id
                """, logger: logger)
            for try await _ in rows.decode(Int.self) { queued.append(channel) }
        }
        return queued
    }

    /// Queues `kind` to the finding's channels, unless the fingerprint was notified at the
    /// finding's severity (or a higher one) within its quiet period: a soft notification never
    /// quiets a hard page.
    private func notifyUnlessQuiet(_ id: Int, finding: AlertFinding, kind: NotificationKind) async throws -> [String] {
        if let quiet = finding.quietPeriod, quiet > 0 {
            let severities = AlertSeverity.allCases.filter { $0 >= finding.severity }.map(\.rawValue)
            let rows = try await connection.query("""
                SELECT max(n.created_at) FROM alert_notifications n JOIN alerts a ON a.id = n.alert_id
                WHERE a.fingerprint = \(finding.fingerprint) AND n.kind IN ('trigger', 'escalate', 'renotify') AND n.state <> 'skipped'
                  AND n.severity = ANY(\(severities))
                """, logger: logger)
            var last: Date?
            for try await value in rows.decode(Date?.self) { last = value }
            if let last, now.timeIntervalSince(last) < quiet {
                let at = finding.severity == .hard ? "a hard page" : "a notification"
                try await record(id, "quieted", reason: "\(at) went out \(Int(now.timeIntervalSince(last)))s ago, within the quiet period of \(Int(quiet))s")
                return []
            }
        }
        return try await queue(id, kind: kind, channels: finding.channels)
    }

    /// Sets when a hard, unacknowledged alert is paged again (a durable timer the alert keeper fires).
    private func scheduleRenotification(_ id: Int, finding: AlertFinding, notified: Bool) async throws {
        guard notified, finding.severity == .hard, let after = finding.renotifyAfter, after > 0 else { return }
        try await connection.query("""
            UPDATE alerts SET renotify_at = \(now.addingTimeInterval(after)) WHERE id = \(id) AND state = 'firing'
            """, logger: logger)
    }

    /// A finding's reasons as one line.
    static func summary(_ finding: AlertFinding) -> String {
        guard case let .array(reasons)? = finding.details["reasons"], !reasons.isEmpty else { return "\(finding.severity.rawValue) finding" }
        return reasons.compactMap(\.stringValue).joined(separator: "; ")
    }
}
