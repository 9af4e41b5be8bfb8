import Foundation
import VigilEngine
import VigilStore
import VigilWorkflow

/// The payload Alertmanager's webhook receiver posts (version 4), checked field by field before
/// anything is acted on: a malformed payload changes nothing.
public struct AlertmanagerNotification: Sendable {
    public struct Alert: Sendable {
        public let status: String
        public let labels: [String: String]
        public let annotations: [String: String]
        public let startsAt: Date
        public let endsAt: Date?
        public let generatorURL: String?
        public let fingerprint: String
    }

    public let receiver: String
    public let status: String
    public let groupKey: String
    public let alerts: [Alert]

    /// Decodes and checks a payload.
    ///
    /// - Throws: ``PayloadError`` naming the first field that is missing or wrong.
    public init(json data: Data) throws(PayloadError) {
        let value: JSONValue
        do {
            // PostgreSQL cannot store NUL in text: it is dropped from every string of the payload.
            value = Self.withoutNUL(try JSONDecoder().decode(JSONValue.self, from: data))
        } catch {
            throw PayloadError("the body is not valid JSON")
        }
        guard case let .object(root) = value else { throw PayloadError("the body must be a JSON object (Alertmanager webhook payload, version 4)") }
        guard let version = root["version"]?.stringValue else { throw PayloadError("'version' is missing; Vigil reads Alertmanager webhook payloads of version \"4\"") }
        guard version == "4" else { throw PayloadError("'version' is \"\(version)\"; Vigil reads version \"4\"") }
        if let value = root["receiver"], value.stringValue == nil { throw PayloadError("'receiver' must be a string") }
        receiver = root["receiver"]?.stringValue ?? ""
        status = try Self.status(root["status"], at: "status")
        guard let groupKey = root["groupKey"]?.stringValue else { throw PayloadError("'groupKey' must be a string") }
        self.groupKey = groupKey
        guard case let .array(items)? = root["alerts"] else { throw PayloadError("'alerts' must be a list") }
        guard !items.isEmpty else { throw PayloadError("'alerts' is empty") }
        var alerts: [Alert] = []
        for (index, item) in items.enumerated() {
            let path = "alerts[\(index)]"
            guard case let .object(fields) = item else { throw PayloadError("'\(path)' must be an object") }
            let labels = try Self.strings(fields["labels"], at: "\(path).labels")
            guard let name = labels["alertname"], !name.isEmpty else { throw PayloadError("'\(path).labels.alertname' is missing") }
            guard let fingerprint = fields["fingerprint"]?.stringValue, !fingerprint.isEmpty, fingerprint.unicodeScalars.count <= 128 else {
                throw PayloadError("'\(path).fingerprint' must be a non-empty string")
            }
            guard let startsAt = Self.date(fields["startsAt"]) else { throw PayloadError("'\(path).startsAt' must be an RFC 3339 time") }
            var endsAt: Date?
            // Alertmanager writes 0001-01-01T00:00:00Z for "not ended yet".
            if let value = fields["endsAt"], value.stringValue?.hasPrefix("0001-01-01") != true {
                guard let date = Self.date(value) else { throw PayloadError("'\(path).endsAt' must be an RFC 3339 time from 1970 to 9999") }
                endsAt = date > Date(timeIntervalSince1970: 0) ? date : nil
            }
            if let value = fields["generatorURL"], value.stringValue == nil { throw PayloadError("'\(path).generatorURL' must be a string") }
            alerts.append(Alert(
                status: try Self.status(fields["status"], at: "\(path).status"), labels: labels,
                annotations: fields["annotations"] == nil ? [:] : try Self.strings(fields["annotations"], at: "\(path).annotations"),
                startsAt: startsAt, endsAt: endsAt, generatorURL: fields["generatorURL"]?.stringValue, fingerprint: fingerprint
            ))
        }
        self.alerts = alerts
    }

    static func withoutNUL(_ value: JSONValue) -> JSONValue {
        switch value {
        case let .string(text): .string(text.replacingOccurrences(of: "\u{0}", with: ""))
        case let .array(items): .array(items.map(withoutNUL))
        case let .object(fields): .object(Dictionary(fields.map { ($0.key.replacingOccurrences(of: "\u{0}", with: ""), withoutNUL($0.value)) }) { first, _ in first })
        default: value
        }
    }

    private static func status(_ value: JSONValue?, at path: String) throws(PayloadError) -> String {
        guard let text = value?.stringValue, ["firing", "resolved"].contains(text) else { throw PayloadError("'\(path)' must be \"firing\" or \"resolved\"") }
        return text
    }

    private static func strings(_ value: JSONValue?, at path: String) throws(PayloadError) -> [String: String] {
        guard case let .object(fields)? = value else { throw PayloadError("'\(path)' must be an object of strings") }
        var strings: [String: String] = [:]
        for (key, value) in fields {
            guard case let .string(text) = value else { throw PayloadError("'\(path).\(key)' must be a string") }
            strings[key] = text
        }
        return strings
    }

    private static func date(_ value: JSONValue?) -> Date? {
        guard let text = value?.stringValue, text.utf8.count >= 19 else { return nil }
        return Timestamp.parse(text).map { Date(timeIntervalSince1970: $0) }
    }
}

/// A request body that cannot be used, with the reason.
public struct PayloadError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Turns Alertmanager notifications into Vigil alerts and trigger events: each firing alert is
/// recorded (source `alertmanager`, its own fingerprint) and starts the workflows whose `alert:`
/// trigger matches its name and labels, once per incident; a resolved one closes the Vigil alert.
/// Alerts Vigil itself sent to Alertmanager (label `source: vigil`) are ignored, so a route back
/// to Vigil cannot loop.
public struct AlertmanagerReceiver: Sendable {
    let database: Database
    let clock: any EngineClock

    public init(database: Database, clock: any EngineClock = SystemClock()) {
        self.database = database
        self.clock = clock
    }

    /// What happened to one received alert.
    public struct Result: Sendable, Encodable {
        public let fingerprint: String
        public let status: String
        public let alertID: Int?
        public let runs: [StartedRun]

        enum CodingKeys: String, CodingKey {
            case fingerprint, status, runs
            case alertID = "alert_id"
        }
    }

    public struct StartedRun: Sendable, Encodable {
        public let workflow: String
        public let run: Int
        /// created, existing or skipped
        public let outcome: String
    }

    public func receive(_ notification: AlertmanagerNotification) async throws -> [Result] {
        let store = AlertStore(database: database)
        var results: [Result] = []
        for alert in notification.alerts {
            if alert.labels["source"] == "vigil" {
                results.append(Result(fingerprint: alert.fingerprint, status: "ignored", alertID: nil, runs: []))
                continue
            }
            let actor = "alertmanager:\(notification.receiver)"
            if alert.status == "resolved" {
                guard let open = try await store.openAlert(fingerprint: alert.fingerprint) else {
                    results.append(Result(fingerprint: alert.fingerprint, status: "resolved", alertID: nil, runs: []))
                    continue
                }
                let resolved = try? await store.resolve(open.id, actor: actor, reason: "resolved in Alertmanager", now: clock.now())
                results.append(Result(fingerprint: alert.fingerprint, status: "resolved", alertID: resolved?.id ?? open.id, runs: []))
                continue
            }
            let severity = alert.labels["severity"].map { ["hard", "critical", "page", "error"].contains($0.lowercased()) } == true ? AlertSeverity.hard : .soft
            var details: [String: JSONValue] = ["group_key": .string(notification.groupKey), "receiver": .string(notification.receiver)]
            details["annotations"] = .object(alert.annotations.mapValues(JSONValue.string))
            if let summary = alert.annotations["summary"] ?? alert.annotations["description"] { details["reasons"] = .array([.string(summary)]) }
            if let url = alert.generatorURL { details["generator_url"] = .string(url) }
            let finding = AlertFinding(
                model: alert.labels["model"] ?? "-", rule: alert.labels["alertname"] ?? "", subject: alert.labels["subject"] ?? "alertmanager",
                severity: severity, labels: alert.labels, details: details, source: "alertmanager", startedAt: alert.startsAt,
                sourceFingerprint: alert.fingerprint
            )
            let raised = try await store.raise(finding, idempotencyKey: nil, runID: nil, actor: actor, now: clock.now())
            var runs: [StartedRun] = []
            for (workflow, creation) in try await AlertRunStarter(database: database, clock: clock).startRuns(for: raised.alert, actor: actor) {
                let outcome = switch creation {
                case .created: "created"
                case .existing: "existing"
                case .skipped: "skipped"
                }
                runs.append(StartedRun(workflow: workflow, run: creation.runID, outcome: outcome))
            }
            results.append(Result(fingerprint: alert.fingerprint, status: "firing", alertID: raised.alert.id, runs: runs))
        }
        return results
    }
}
