import Crypto
import Foundation
import VigilStore
import VigilWorkflow

/// One notification as its receiver expects it: where to send it, the headers and the body (JSON
/// for the HTTP channels; for e-mail the whole message, headers included, as SMTP's `DATA` takes it).
struct ChannelMessage: Sendable {
    var url: String
    var headers: [(String, String)]
    var body: Data

    /// The message for a notification on `channel`, or `nil` when the channel has no use for this
    /// kind (Alertmanager and acknowledgements).
    static func make(for claim: NotificationOutbox.Claim, channel: ChannelConfiguration, publicURL: String?, now: Date) throws -> ChannelMessage? {
        let content = AlertContent(alert: claim.alert, kind: claim.notification.kind, publicURL: publicURL, now: now)
        let payload: JSONValue
        var url = channel.url
        switch channel.kind {
        case .email:
            guard let mail = channel.mail else { throw ChannelConfigurationError(description: "channel '\(channel.name)' is an email channel without its settings") }
            return ChannelMessage(url: channel.url, headers: [], body: Data(content.email(mail, dedupKey: claim.notification.dedupKey).rendered()))
        case .alertmanager:
            guard let alerts = content.alertmanager(refresh: channel.refresh) else { return nil }
            payload = .array(alerts)
            url = channel.alertmanagerAlertsURL
        case .pagerduty: payload = content.pagerDuty(routingKey: channel.secret ?? "")
        case .slack: payload = content.slack
        case .webhook: payload = content.webhook(dedupKey: claim.notification.dedupKey)
        case .teams: payload = content.teams
        case .datadog: payload = content.datadog
        case .opsgenie:
            let request = content.opsgenie
            payload = request.body
            url = (channel.url.hasSuffix("/") ? String(channel.url.dropLast()) : channel.url) + request.path
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = try encoder.encode(payload)
        var headers = [
            ("Content-Type", "application/json"), ("User-Agent", "vigil"),
            ("Idempotency-Key", claim.notification.dedupKey), ("X-Vigil-Event", claim.notification.kind.rawValue),
        ]
        if channel.kind == .opsgenie { headers.append(("Authorization", "GenieKey \(channel.secret ?? "")")) }
        if channel.kind == .datadog { headers.append(("DD-API-KEY", channel.secret ?? "")) }
        if channel.kind == .webhook, let secret = channel.secret, !secret.isEmpty {
            headers.append(("X-Vigil-Signature-256", "sha256=" + Self.signature(of: body, secret: secret)))
        }
        return ChannelMessage(url: url, headers: headers, body: body)
    }

    /// The open alerts an Alertmanager channel already knows, posted again so that it keeps them
    /// (see ``ChannelConfiguration/refresh``).
    static func alertmanagerRefresh(of alerts: [Alert], channel: ChannelConfiguration, publicURL: String?, now: Date) throws -> ChannelMessage {
        let payload = JSONValue.array(alerts.compactMap { alert in
            AlertContent(alert: alert, kind: .renotify, publicURL: publicURL, now: now).alertmanagerAlert(refresh: channel.refresh)
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return ChannelMessage(
            url: channel.alertmanagerAlertsURL,
            headers: [("Content-Type", "application/json"), ("User-Agent", "vigil"), ("X-Vigil-Event", "refresh")],
            body: try encoder.encode(payload)
        )
    }

    /// Lower-case hex HMAC-SHA256 of `body` with `secret`: what a webhook receiver recomputes to
    /// check that the body came from Vigil unchanged.
    static func signature(of body: Data, secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return code.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }
}

/// What a notification says about an alert, shaped for each receiver.
struct AlertContent {
    let alert: Alert
    let kind: NotificationKind
    let publicURL: String?
    let now: Date

    private static func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    var reasons: [String] {
        guard case let .array(values)? = alert.findings["reasons"] else { return [] }
        return values.compactMap(\.stringValue)
    }

    /// The drifted features, highest score first: `(name, score, method)`.
    var driftedFeatures: [(name: String, score: Double, method: String?)] {
        guard case let .array(values)? = alert.findings["drifted_features"] else { return [] }
        return values.compactMap { value -> (String, Double, String?)? in
            guard case let .object(feature) = value, let name = feature["feature"]?.stringValue else { return nil }
            return (name, feature["score"]?.numberValue ?? .nan, feature["method"]?.stringValue)
        }
    }

    var runID: Int? { alert.findings["run"]?.intValue }

    /// The web view's page of the run that raised the alert, when Vigil's public address is known.
    var runLink: String? {
        runID.flatMap { page("runs/\($0)") }
    }

    /// The web view's page of the alert.
    var alertLink: String? {
        page("alerts/\(alert.id)")
    }

    /// A web view page (under `/ui/`) at the public address.
    private func page(_ path: String) -> String? {
        publicURL.map { "\($0.hasSuffix("/") ? String($0.dropLast()) : $0)/ui/\(path)" }
    }

    var headline: String {
        let what = "\(alert.rule) on model \(alert.model)" + (alert.subject == "model" ? "" : ", \(alert.subject)")
        return switch kind {
        case .trigger: "\(alert.severity == .hard ? "Hard" : "Soft") alert: \(what)"
        case .escalate: "Escalated to hard: \(what)"
        case .renotify: "Still firing, unacknowledged: \(what)"
        case .acknowledge: "Acknowledged by \(alert.acknowledgedBy ?? "someone"): \(what)"
        case .resolve: "Resolved: \(what)"
        }
    }

    var summary: String {
        let detail = kind == .resolve ? (alert.resolution ?? "") : reasons.joined(separator: "; ")
        return String((detail.isEmpty ? headline : "\(headline): \(detail)").prefix(1_000))
    }

    /// The window's strongest drivers of drift with their shares: "tenure 0.61".
    var driverLines: [String] {
        guard case let .array(values)? = alert.findings["drivers"] else { return [] }
        return values.compactMap { value in
            guard case let .object(driver) = value, let name = driver["feature"]?.stringValue, let share = driver["share"]?.numberValue else { return nil }
            return "\(name) \(String(format: "%.2f", share))"
        }
    }

    var featureLines: [String] {
        driftedFeatures.prefix(5).map { feature in
            let score = feature.score.isFinite ? String(format: "%.3f", feature.score) : "n/a"
            return "\(feature.name): \(score)\(feature.method.map { " (\($0))" } ?? "")"
        }
    }

    // MARK: Receivers

    /// What Alertmanager's `POST /api/v2/alerts` gets for this notification: the alert, firing
    /// until `refresh` × 4 from now unless posted again (Alertmanager forgets alerts nobody
    /// re-posts), or ended at its resolution. Severity is a label, so Alertmanager holds a soft
    /// and a hard alert apart: an escalation ends the soft one in the same request, leaving one
    /// alert. `nil` for an acknowledgement, which Alertmanager has no notion of.
    func alertmanager(refresh: TimeInterval) -> [JSONValue]? {
        guard kind != .acknowledge else { return nil }
        let current = alertmanagerAlert(refresh: refresh)
        guard kind == .escalate, alert.severity == .hard else { return [current] }
        return [alertmanagerAlert(severity: .soft, endsAt: alert.escalatedAt ?? now), current]
    }

    /// The alert as Alertmanager holds it: firing until `refresh` × 4 from now, or ended.
    func alertmanagerAlert(refresh: TimeInterval) -> JSONValue {
        let endsAt = alert.state == .resolved || kind == .resolve
            ? max(alert.resolvedAt ?? now, alert.startedAt.addingTimeInterval(1))
            : now.addingTimeInterval(4 * refresh)
        return alertmanagerAlert(severity: alert.severity, endsAt: endsAt)
    }

    private func alertmanagerAlert(severity: AlertSeverity, endsAt: Date) -> JSONValue {
        var labels: [String: JSONValue] = [:]
        for (key, value) in alert.labels { labels[Self.labelName(key)] = .string(value) }
        labels["alertname"] = .string(alert.rule)
        labels["model"] = .string(alert.model)
        labels["severity"] = .string(severity.rawValue)
        labels["subject"] = .string(alert.subject)
        labels["source"] = .string("vigil")
        var annotations: [String: JSONValue] = [
            "summary": .string(headline), "description": .string(reasons.joined(separator: "; ")),
            "vigil_alert_id": .string(String(alert.id)), "fingerprint": .string(alert.fingerprint),
        ]
        if !featureLines.isEmpty { annotations["drifted_features"] = .string(featureLines.joined(separator: ", ")) }
        if !driverLines.isEmpty { annotations["top_drivers"] = .string(driverLines.joined(separator: ", ")) }
        if let runID { annotations["run"] = .string(runLink ?? "vigil runs show \(runID)") }
        var payload: [String: JSONValue] = [
            "labels": .object(labels), "annotations": .object(annotations), "startsAt": .string(Self.iso(alert.startedAt)),
            "endsAt": .string(Self.iso(endsAt)),
        ]
        if let alertLink { payload["generatorURL"] = .string(alertLink) }
        return .object(payload)
    }

    /// A PagerDuty Events API v2 event: trigger (with details), acknowledge or resolve.
    func pagerDuty(routingKey: String) -> JSONValue {
        let action = switch kind {
        case .acknowledge: "acknowledge"
        case .resolve: "resolve"
        case .trigger, .escalate, .renotify: "trigger"
        }
        var event: [String: JSONValue] = [
            "routing_key": .string(routingKey), "event_action": .string(action), "dedup_key": .string("vigil-alert-\(alert.id)"),
        ]
        guard action == "trigger" else { return .object(event) }
        var details: [String: JSONValue] = [
            "alert_id": .number(Double(alert.id)), "fingerprint": .string(alert.fingerprint), "model": .string(alert.model),
            "rule": .string(alert.rule), "subject": .string(alert.subject), "occurrences": .number(Double(alert.occurrences)),
            "reasons": .array(reasons.map(JSONValue.string)),
            "drifted_features": .array(driftedFeatures.map { .object(["feature": .string($0.name), "score": $0.score.isFinite ? .number($0.score) : .null]) }),
        ]
        for key in ["window_start", "window_end", "workflow"] { if let value = alert.findings[key] { details[key] = value } }
        if let runID { details["run"] = .number(Double(runID)) }
        event["payload"] = .object([
            "summary": .string(summary), "source": .string("vigil/\(alert.model)"),
            "severity": .string(alert.severity == .hard ? "critical" : "warning"), "timestamp": .string(Self.iso(now)),
            "component": .string(alert.model), "group": .string(alert.rule), "class": .string("drift"), "custom_details": .object(details),
        ])
        event["client"] = .string("Vigil")
        if let alertLink { event["client_url"] = .string(alertLink) }
        if let runLink { event["links"] = .array([.object(["href": .string(runLink), "text": .string("Vigil run \(runID ?? 0)")])]) }
        return .object(event)
    }

    /// The headline, the reasons (unless resolved) and where to look, a line each: the body of
    /// the channels that take plain text.
    private var briefing: String {
        ([headline] + (kind == .resolve ? [] : reasons) + [alertLink ?? "vigil alerts show \(alert.id)"]).joined(separator: "\n")
    }

    /// A Datadog Events API v2 alert event. Every transition is an event with the same aggregation
    /// key, `vigil-alert-ID`, so Datadog correlates them into one alert: status `error` (hard) or
    /// `warn` (soft) while firing or acknowledged, `ok` once resolved.
    var datadog: JSONValue {
        let status = kind == .resolve ? "ok" : alert.severity == .hard ? "error" : "warn"
        var custom: [String: JSONValue] = [
            "alert_id": .number(Double(alert.id)), "event": .string(kind.rawValue), "fingerprint": .string(alert.fingerprint),
            "rule": .string(alert.rule), "subject": .string(alert.subject), "occurrences": .number(Double(alert.occurrences)),
            "reasons": .array(reasons.map(JSONValue.string)),
            "drifted_features": .array(driftedFeatures.map { .object(["feature": .string($0.name), "score": $0.score.isFinite ? .number($0.score) : .null]) }),
        ]
        if let by = alert.acknowledgedBy { custom["acknowledged_by"] = .string(by) }
        if let alertLink { custom["url"] = .string(alertLink) }
        if let runLink { custom["run_url"] = .string(runLink) }
        return .object(["data": .object([
            "type": .string("event"),
            "attributes": .object([
                // Datadog limits a title to 500 characters and a message to 4,000.
                "category": .string("alert"), "title": .string(String(summary.prefix(500))), "message": .string(String(briefing.prefix(4_000))),
                "aggregation_key": .string("vigil-alert-\(alert.id)"),
                "tags": .array(["source:vigil", "model:\(alert.model)", "rule:\(alert.rule)", "severity:\(alert.severity.rawValue)"].map(JSONValue.string)),
                "attributes": .object([
                    "status": .string(status), "priority": .string(alert.severity == .hard ? "1" : "3"), "custom": .object(custom),
                ]),
            ]),
        ])])
    }

    /// An Opsgenie Alert API request: create (with the alias, so a repeat only counts), or
    /// acknowledge or close the alert by its alias.
    var opsgenie: (path: String, body: JSONValue) {
        let alias = "vigil-alert-\(alert.id)"
        func byAlias(_ action: String) -> String { "/v2/alerts/\(alias)/\(action)?identifierType=alias" }
        switch kind {
        case .acknowledge:
            return (byAlias("acknowledge"), .object([
                "user": .string(alert.acknowledgedBy ?? "vigil"), "source": .string("Vigil"), "note": .string(headline),
            ]))
        case .resolve:
            return (byAlias("close"), .object(["source": .string("Vigil"), "note": .string(headline)]))
        case .trigger, .escalate, .renotify:
            var details: [String: JSONValue] = [
                "alert_id": .string(String(alert.id)), "fingerprint": .string(alert.fingerprint), "model": .string(alert.model),
                "rule": .string(alert.rule), "subject": .string(alert.subject), "severity": .string(alert.severity.rawValue),
            ]
            if !reasons.isEmpty { details["reasons"] = .string(reasons.joined(separator: "; ")) }
            if !featureLines.isEmpty { details["drifted_features"] = .string(featureLines.joined(separator: ", ")) }
            if !driverLines.isEmpty { details["top_drivers"] = .string(driverLines.joined(separator: ", ")) }
            if let runLink { details["run"] = .string(runLink) }
            if let alertLink { details["url"] = .string(alertLink) }
            return ("/v2/alerts", .object([
                // Opsgenie cuts a message at 130 characters and a description at 15,000.
                "message": .string(String(summary.prefix(130))), "alias": .string(alias),
                "description": .string(String(briefing.prefix(15_000))), "source": .string("Vigil"), "entity": .string(alert.model),
                "priority": .string(alert.severity == .hard ? "P1" : "P3"),
                "tags": .array(["vigil", "model:\(alert.model)", "severity:\(alert.severity.rawValue)"].map(JSONValue.string)),
                "details": .object(details),
            ]))
        }
    }

    /// An e-mail for this transition. Every message about one alert belongs to one thread: the
    /// first (`trigger`) has the Message-ID `vigil-alert-ID@DOMAIN` and the others refer to it
    /// (`In-Reply-To`, `References`), under one subject, so mail clients that thread by subject
    /// group them too; what happened is the body's first line. A message sent again carries the
    /// same Message-ID, so a mailbox that already has it can drop the copy.
    func email(_ settings: MailSettings, dedupKey: String) -> MailMessage {
        let domain = settings.senderDomain
        let root = "vigil-alert-\(alert.id)@\(domain)"
        let ownID = String(dedupKey.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "." }) + "@" + domain
        var facts = [("Model", alert.model), ("Rule", alert.rule), ("Severity", alert.severity.rawValue), ("State", alert.state.rawValue),
                     ("Seen", "\(alert.occurrences) times since \(Self.iso(alert.startedAt))")]
        if alert.subject != "model" { facts.insert(("Subject", alert.subject), at: 1) }
        if let by = alert.acknowledgedBy { facts.append(("Acknowledged by", by)) }
        var sections: [(String, [String])] = []
        if kind == .resolve, let resolution = alert.resolution { sections.append(("Resolution", [resolution])) }
        if kind != .resolve && !reasons.isEmpty { sections.append(("Why", reasons)) }
        if !featureLines.isEmpty { sections.append(("Top drifted features", featureLines)) }
        if !driverLines.isEmpty { sections.append(("Top drivers", driverLines)) }
        var links = [("Alert", alertLink ?? "vigil alerts show \(alert.id)")]
        if let runID { links.append(("Run", runLink ?? "vigil runs show \(runID)")) }

        var text = [headline, ""] + facts.map { "\($0.0): \($0.1)" }
        for (title, lines) in sections { text += ["", "\(title):"] + lines.map { "  - \($0)" } }
        text += [""] + links.map { "\($0.0): \($0.1)" }

        func escape(_ value: String) -> String {
            value.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        func link(_ target: String) -> String {
            target.hasPrefix("http") ? "<a href=\"\(escape(target))\">\(escape(target))</a>" : "<code>\(escape(target))</code>"
        }
        var html = ["<!DOCTYPE html>", "<html><body style=\"font-family: sans-serif\">", "<h2>\(escape(headline))</h2>", "<table>"]
        html += facts.map { "<tr><th align=\"left\">\(escape($0.0))</th><td>\(escape($0.1))</td></tr>" }
        html.append("</table>")
        for (title, lines) in sections { html += ["<h3>\(escape(title))</h3>", "<ul>"] + lines.map { "<li>\(escape($0))</li>" } + ["</ul>"] }
        html += links.map { "<p>\(escape($0.0)): \(link($0.1))</p>" } + ["</body></html>"]

        return MailMessage(
            from: settings.from, recipients: settings.recipients,
            subject: "[Vigil] Alert \(alert.id): \(alert.rule) on model \(alert.model)" + (alert.subject == "model" ? "" : ", \(alert.subject)"),
            messageID: kind == .trigger ? root : ownID, thread: kind == .trigger ? nil : root, date: now,
            text: text.joined(separator: "\n"), html: html.joined(separator: "\n"),
            extraHeaders: [
                ("Auto-Submitted", "auto-generated"), ("X-Vigil-Alert-ID", String(alert.id)), ("X-Vigil-Event", kind.rawValue),
                ("X-Vigil-Severity", alert.severity.rawValue), ("X-Vigil-Model", alert.model),
            ]
        )
    }

    /// A Microsoft Teams message for a Workflows webhook: one Adaptive Card (schema 1.4) with the
    /// headline, the alert's facts, why, the top drifted features and drivers, and links.
    var teams: JSONValue {
        func text(_ value: String, bold: Bool = false) -> JSONValue {
            var block: [String: JSONValue] = ["type": .string("TextBlock"), "text": .string(value), "wrap": .bool(true)]
            if bold { block["weight"] = .string("Bolder"); block["size"] = .string("Medium") }
            return .object(block)
        }
        func fact(_ title: String, _ value: String) -> JSONValue { .object(["title": .string(title), "value": .string(value)]) }
        var body: [JSONValue] = [text(headline, bold: true), .object(["type": .string("FactSet"), "facts": .array([
            fact("Model", alert.model), fact("Severity", alert.severity.rawValue), fact("State", alert.state.rawValue),
            fact("Seen", "\(alert.occurrences)×"),
        ])])]
        if kind == .resolve, let resolution = alert.resolution { body.append(text("Resolution: \(resolution)")) }
        if !reasons.isEmpty && kind != .resolve { body.append(text("Why: " + reasons.joined(separator: "; "))) }
        if !featureLines.isEmpty { body.append(text("Top drifted features: " + featureLines.joined(separator: ", "))) }
        if !driverLines.isEmpty { body.append(text("Top drivers: " + driverLines.joined(separator: ", "))) }
        var actions: [JSONValue] = []
        if let alertLink { actions.append(.object(["type": .string("Action.OpenUrl"), "title": .string("Alert \(alert.id)"), "url": .string(alertLink)])) }
        if let runLink, let runID { actions.append(.object(["type": .string("Action.OpenUrl"), "title": .string("Run \(runID)"), "url": .string(runLink)])) }
        var card: [String: JSONValue] = [
            "$schema": .string("http://adaptivecards.io/schemas/adaptive-card.json"), "type": .string("AdaptiveCard"),
            "version": .string("1.4"), "body": .array(body),
        ]
        if !actions.isEmpty { card["actions"] = .array(actions) }
        return .object([
            "type": .string("message"),
            "attachments": .array([.object([
                "contentType": .string("application/vnd.microsoft.card.adaptive"), "contentUrl": .null, "content": .object(card),
            ])]),
        ])
    }

    /// A Slack message: the model, the severity, the top drifted features with scores, and the run.
    var slack: JSONValue {
        var lines = ["*\(headline)*", "Model: `\(alert.model)` · Severity: *\(alert.severity.rawValue)* · State: \(alert.state.rawValue) · Seen \(alert.occurrences)×"]
        if kind == .resolve, let resolution = alert.resolution { lines.append("Resolution: \(resolution)") }
        if !reasons.isEmpty && kind != .resolve { lines.append("Why: " + reasons.joined(separator: "; ")) }
        if !featureLines.isEmpty { lines.append("Top drifted features:\n" + featureLines.map { "• \($0)" }.joined(separator: "\n")) }
        if !driverLines.isEmpty { lines.append("Top drivers: " + driverLines.joined(separator: ", ")) }
        if let runID { lines.append(runLink.map { "Run: <\($0)|run \(runID)>" } ?? "Run: `vigil runs show \(runID)`") }
        lines.append(alertLink.map { "Alert: <\($0)|alert \(alert.id)>" } ?? "Alert: `vigil alerts show \(alert.id)`")
        let text = lines.joined(separator: "\n")
        return .object([
            "text": .string(summary),
            "blocks": .array([.object(["type": .string("section"), "text": .object(["type": .string("mrkdwn"), "text": .string(text)])])]),
        ])
    }

    /// The generic webhook's JSON: the event and the whole alert.
    func webhook(dedupKey: String) -> JSONValue {
        var body: [String: JSONValue] = [
            "id": .number(Double(alert.id)), "fingerprint": .string(alert.fingerprint), "model": .string(alert.model),
            "rule": .string(alert.rule), "subject": .string(alert.subject), "severity": .string(alert.severity.rawValue),
            "state": .string(alert.state.rawValue), "labels": .object(alert.labels.mapValues(JSONValue.string)),
            "findings": .object(alert.findings), "started_at": .string(Self.iso(alert.startedAt)),
            "first_seen": .string(Self.iso(alert.firstSeen)), "last_seen": .string(Self.iso(alert.lastSeen)),
            "occurrences": .number(Double(alert.occurrences)),
        ]
        if let by = alert.acknowledgedBy { body["acknowledged_by"] = .string(by) }
        if let resolution = alert.resolution { body["resolution"] = .string(resolution) }
        if let alertLink { body["url"] = .string(alertLink) }
        if let runLink { body["run_url"] = .string(runLink) }
        return .object([
            "event": .string(kind.rawValue), "summary": .string(summary), "dedup_key": .string(dedupKey),
            "sent_at": .string(Self.iso(now)), "alert": .object(body),
        ])
    }

    /// A Prometheus label name: letters, digits and underscores, not starting with a digit.
    static func labelName(_ key: String) -> String {
        let mapped = String(key.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        return mapped.first?.isNumber == true ? "_" + mapped : mapped
    }
}
