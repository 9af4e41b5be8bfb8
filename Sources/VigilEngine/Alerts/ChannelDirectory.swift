import Foundation
import VigilStore
import VigilWorkflow

/// Where notifications go: each named channel's receiver, endpoint and secret.
///
/// Channels come from the deployment, never from a workflow file (a workflow only names them):
/// a YAML file named by `$VIGIL_CHANNELS_FILE` (or `--channels`), whose values may be `${VARIABLE}`
/// references to the environment, and these shortcuts when no file defines the name:
///
/// | channel | environment |
/// | --- | --- |
/// | `slack` | `VIGIL_SLACK_WEBHOOK_URL` |
/// | `pagerduty` | `VIGIL_PAGERDUTY_ROUTING_KEY` (and `VIGIL_PAGERDUTY_URL`) |
/// | `alertmanager` | `VIGIL_ALERTMANAGER_URL` |
/// | `webhook` | `VIGIL_WEBHOOK_URL` (and `VIGIL_WEBHOOK_SECRET`) |
///
/// ```yaml
/// public_url: https://vigil.example.com
/// channels:
///   slack: { type: slack, url: "${SLACK_WEBHOOK_URL}" }
///   risk-hook: { type: webhook, url: https://hooks.example.com/vigil, secret: "${RISK_HOOK_SECRET}", timeout: 5s, attempts: 4 }
///   pagerduty: { type: pagerduty, routing_key: "${PD_KEY}", retry_delay: 5s, max_retry_delay: 5m, max_age: 24h }
///   teams: { type: teams, url: "${TEAMS_WORKFLOW_URL}" }
///   opsgenie: { type: opsgenie, api_key: "${OPSGENIE_KEY}" }   # url: https://api.eu.opsgenie.com in the EU
///   datadog: { type: datadog, api_key: "${DD_API_KEY}", site: datadoghq.eu }
///   mail: { type: email, url: "smtp://mail.example.com:587", from: vigil@example.com, to: [risk@example.com], username: vigil, password: "${SMTP_PASSWORD}" }
/// ```
public struct ChannelDirectory: Sendable {
    public var channels: [String: ChannelConfiguration]
    /// The base URL of `vigil serve`, for links to runs and alerts in notifications.
    public var publicURL: String?
    /// Where every change of a model's routing is posted (a webhook), for serving layers that
    /// want to be told rather than read `model_routing`; `routing_webhook:` in the file, or
    /// `VIGIL_ROUTING_WEBHOOK_URL` (and `VIGIL_ROUTING_WEBHOOK_SECRET`).
    public var routing: ChannelConfiguration?
    /// The MLflow tracking server whose registered models' aliases follow Vigil's
    /// (`MLFLOW_TRACKING_URI`); `nil` mirrors nothing.
    public var mlflow: MLflowRegistry?

    public init(channels: [String: ChannelConfiguration] = [:], publicURL: String? = nil, routing: ChannelConfiguration? = nil) {
        self.channels = channels
        self.publicURL = publicURL
        self.routing = routing
    }

    public subscript(name: String) -> ChannelConfiguration? { channels[name] }

    /// The channels this process is configured with.
    ///
    /// - Throws: ``ChannelConfigurationError`` naming the file, line and column of a bad entry.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment, file: String? = nil) throws -> ChannelDirectory {
        var directory = ChannelDirectory(publicURL: environment["VIGIL_PUBLIC_URL"].flatMap { $0.isEmpty ? nil : $0 })
        if let path = file ?? environment["VIGIL_CHANNELS_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            directory = try ChannelFileReader(environment: environment).read(path: path, into: directory)
        }
        func set(_ name: String, _ type: ChannelConfiguration.Kind, url: String?, secret: String? = nil) {
            guard directory.channels[name] == nil, let url, !url.isEmpty else { return }
            directory.channels[name] = ChannelConfiguration(name: name, kind: type, url: url, secret: secret)
        }
        set("slack", .slack, url: environment["VIGIL_SLACK_WEBHOOK_URL"])
        set("alertmanager", .alertmanager, url: environment["VIGIL_ALERTMANAGER_URL"])
        set("webhook", .webhook, url: environment["VIGIL_WEBHOOK_URL"], secret: environment["VIGIL_WEBHOOK_SECRET"])
        if let key = environment["VIGIL_PAGERDUTY_ROUTING_KEY"], !key.isEmpty {
            set("pagerduty", .pagerduty, url: environment["VIGIL_PAGERDUTY_URL"] ?? ChannelConfiguration.pagerDutyEventsURL, secret: key)
        }
        if let uri = environment["MLFLOW_TRACKING_URI"], uri.hasPrefix("http://") || uri.hasPrefix("https://") {
            directory.mlflow = MLflowRegistry(trackingURI: uri)
        }
        if directory.routing == nil, let url = environment["VIGIL_ROUTING_WEBHOOK_URL"], !url.isEmpty {
            directory.routing = ChannelConfiguration.routingWebhook(url: url, secret: environment["VIGIL_ROUTING_WEBHOOK_SECRET"])
        }
        return directory
    }
}

/// One channel: its receiver's kind, endpoint, secret, and how hard to try.
public struct ChannelConfiguration: Sendable {
    /// The receiver's format.
    public enum Kind: String, Sendable, CaseIterable {
        /// Prometheus Alertmanager: `url` is its base URL; alerts go to `/api/v2/alerts`.
        case alertmanager
        /// PagerDuty Events API v2: `secret` is the routing key.
        case pagerduty
        /// A Slack incoming webhook: `url` is the webhook (itself a secret).
        case slack
        /// Any HTTP endpoint taking JSON; with a `secret`, bodies are signed with HMAC-SHA256.
        case webhook
        /// A Microsoft Teams Workflows (Power Automate) webhook, sent an Adaptive Card: `url` is the
        /// workflow's trigger URL (itself a secret).
        case teams
        /// Opsgenie's Alert API: `secret` is the API key; `url` its API base (the US one by
        /// default). Alerts are created, acknowledged and closed by their alias, one per Vigil alert.
        case opsgenie
        /// Datadog's Events API v2, as alert events: `secret` is the API key; `url` the site's
        /// events endpoint (`site: datadoghq.eu` sets it, US1 by default).
        case datadog
        /// E-mail through an SMTP server (`url: smtp://host:587` with STARTTLS, or `smtps://`):
        /// one message per alert transition, threaded by alert. ``ChannelConfiguration/mail``
        /// holds the sender, recipients and login; `secret` is the password.
        case email

        /// Whether the channel's receiver is an HTTP endpoint (every kind but e-mail).
        public var isHTTP: Bool { self != .email }
    }

    public static let pagerDutyEventsURL = "https://events.pagerduty.com/v2/enqueue"
    /// Opsgenie's API base in the US; EU accounts use `https://api.eu.opsgenie.com`.
    public static let opsgenieAPIURL = "https://api.opsgenie.com"
    /// Datadog's events endpoint on `site` (`datadoghq.com`, `datadoghq.eu`, `us3.datadoghq.com`, …).
    public static func datadogEventsURL(site: String = "datadoghq.com") -> String { "https://api.\(site)/api/v2/events" }

    public var name: String
    public var kind: Kind
    public var url: String
    /// The routing key (PagerDuty), signing secret (webhook), API key (Opsgenie, Datadog) or SMTP
    /// password (e-mail). Never logged.
    public var secret: String?
    /// E-mail only: the SMTP server, sender, recipients and login.
    public var mail: MailSettings?
    /// Each request's time limit.
    public var timeout: TimeInterval
    /// Requests in one delivery round, retrying network errors, 5xx, 408 and 429 at once.
    public var attempts: Int
    /// The first wait between the requests of a round; it doubles each time.
    public var backoff: TimeInterval
    /// When a round fails: rounds again after a growing wait, until the notification's maximum age.
    public var delivery = DeliveryPolicy()
    /// When deliveries to the channel pause after failed rounds in a row.
    public var circuit = ChannelCircuit()
    /// Alertmanager only: how often the alert keeper posts the open alerts the channel knows
    /// again. Each firing alert is sent with `endsAt` four refreshes ahead, so Alertmanager keeps
    /// it while Vigil runs and resolves it by itself when Vigil has been gone that long, as with
    /// Prometheus.
    public var refresh: TimeInterval = 60

    public init(name: String, kind: Kind, url: String, secret: String? = nil, timeout: TimeInterval = 10, attempts: Int = 4, backoff: TimeInterval = 0.5) {
        self.name = name
        self.kind = kind
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
    }

    /// The longest one round of requests can take: each request's timeout, and the waits between.
    var roundTime: TimeInterval { timeout * Double(attempts) + backoff * pow(2, Double(attempts)) }

    /// Rounds a message has had, given the requests made for it so far.
    func rounds(afterRequests requests: Int) -> Int {
        (requests + max(1, attempts) - 1) / max(1, attempts)
    }

    /// The routing webhook at `url`: a webhook channel named `routing_webhook`.
    public static func routingWebhook(url: String, secret: String? = nil) -> ChannelConfiguration {
        ChannelConfiguration(name: "routing_webhook", kind: .webhook, url: url, secret: secret.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// Where an Alertmanager channel takes alerts.
    var alertmanagerAlertsURL: String { url.hasSuffix("/") ? url + "api/v2/alerts" : url + "/api/v2/alerts" }

    /// The endpoint with its path and query hidden, for messages: webhook URLs are secrets too.
    public var redactedURL: String {
        guard let components = URLComponents(string: url), let host = components.host else { return "(invalid URL)" }
        return "\(components.scheme ?? "http")://\(host)\(components.port.map { ":\($0)" } ?? "")/…"
    }
}

/// A channels file that cannot be used.
public struct ChannelConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Reads the channels file.
struct ChannelFileReader {
    let environment: [String: String]

    func read(path: String, into directory: ChannelDirectory) throws -> ChannelDirectory {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ChannelConfigurationError(description: "\(path): cannot read the channels file")
        }
        let root: YAMLNode?
        do {
            root = try YAMLLoader.load(Array(data), file: path)
        } catch {
            throw ChannelConfigurationError(description: "\(error)")
        }
        guard case let .mapping(entries, _)? = root else {
            throw ChannelConfigurationError(description: "\(path):1:1: the channels file must be a mapping with `channels:`")
        }
        var directory = directory
        for entry in entries {
            switch entry.key {
            case "public_url": directory.publicURL = try text(entry.value, "public_url")
            case "channels":
                guard case let .mapping(channels, _) = entry.value else { throw problem(entry.value.location, "`channels` must map names to channels") }
                for channel in channels { directory.channels[channel.key] = try configuration(named: channel.key, channel.value) }
            case "routing_webhook": directory.routing = try configuration(named: "routing_webhook", entry.value, kind: .webhook)
            default: throw problem(entry.keyLocation, "unknown key '\(entry.key)' (expected public_url, channels, routing_webhook)")
            }
        }
        return directory
    }

    /// A channel's configuration; `fixedKind` for an entry whose kind is given (the routing
    /// webhook), which then takes no `type`.
    private func configuration(named name: String, _ node: YAMLNode, kind fixedKind: ChannelConfiguration.Kind? = nil) throws -> ChannelConfiguration {
        guard case let .mapping(entries, location) = node else {
            throw problem(node.location, "channel '\(name)' must be a mapping with \(fixedKind == nil ? "type and url" : "url")")
        }
        let known = (fixedKind == nil ? ["type"] : [])
            + ["url", "secret", "routing_key", "api_key", "site", "timeout", "attempts", "backoff", "retry_delay", "max_retry_delay", "max_age", "refresh"]
            + (fixedKind == nil ? Self.mailKeys : [])
        for entry in entries where !known.contains(entry.key) {
            throw problem(entry.keyLocation, "unknown key '\(entry.key)' in channel '\(name)' (expected \(known.joined(separator: ", ")))")
        }
        let kind: ChannelConfiguration.Kind
        if let fixedKind {
            kind = fixedKind
        } else {
            guard let typeNode = node["type"] else { throw problem(location, "channel '\(name)' needs `type` (\(kinds))") }
            guard let named = ChannelConfiguration.Kind(rawValue: try text(typeNode, "type")) else {
                throw problem(typeNode.location, "channel '\(name)' has unknown type '\(try text(typeNode, "type"))' (expected \(kinds))")
            }
            kind = named
        }
        for key in Self.mailKeys where kind != .email {
            if let value = node[key] { throw problem(value.location, "`\(key)` is for email channels (channel '\(name)' is \(kind.rawValue))") }
        }
        var url = try node["url"].map { try text($0, "url") }
        if kind == .pagerduty && url == nil { url = ChannelConfiguration.pagerDutyEventsURL }
        if kind == .opsgenie && url == nil { url = ChannelConfiguration.opsgenieAPIURL }
        if let site = node["site"] {
            guard kind == .datadog else { throw problem(site.location, "`site` is for datadog channels (channel '\(name)' is \(kind.rawValue))") }
            let text = try text(site, "site")
            guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }) else {
                throw problem(site.location, "`site` must be a Datadog site such as datadoghq.eu")
            }
            url = url ?? ChannelConfiguration.datadogEventsURL(site: text)
        }
        if kind == .datadog && url == nil { url = ChannelConfiguration.datadogEventsURL() }
        let schemes = kind == .email ? ["smtp", "smtps"] : ["http", "https"]
        guard let url, let parsed = URL(string: url), schemes.contains(parsed.scheme ?? ""), parsed.host != nil else {
            throw problem(node["url"]?.location ?? location, "channel '\(name)' needs \(kind == .email ? "an smtp:// or smtps://" : "an http or https") `url`")
        }
        var configuration = ChannelConfiguration(name: name, kind: kind, url: url)
        configuration.secret = try (node["secret"] ?? node["routing_key"] ?? node["api_key"] ?? node["password"]).map { try text($0, "secret") }
        if kind == .email { configuration.mail = try mailSettings(named: name, node, url: parsed, password: configuration.secret) }
        let requiredSecrets: [ChannelConfiguration.Kind: String] = [
            .pagerduty: "`routing_key` (the PagerDuty integration key)", .datadog: "`api_key` (a Datadog API key)",
            .opsgenie: "`api_key` (an Opsgenie API integration key)",
        ]
        if let required = requiredSecrets[kind], (configuration.secret ?? "").isEmpty {
            throw problem(location, "channel '\(name)' needs \(required)")
        }
        let durations: [(String, WritableKeyPath<ChannelConfiguration, TimeInterval>)] = [
            ("timeout", \.timeout), ("backoff", \.backoff), ("retry_delay", \.delivery.initialDelay),
            ("max_retry_delay", \.delivery.maximumDelay), ("max_age", \.delivery.maximumAge), ("refresh", \.refresh),
        ]
        if let refresh = node["refresh"], kind != .alertmanager {
            throw problem(refresh.location, "`refresh` is for alertmanager channels (channel '\(name)' is \(kind.rawValue))")
        }
        for (key, path) in durations {
            guard let value = node[key] else { continue }
            guard let duration = WorkflowDuration(try text(value, key)), duration.seconds > 0 else {
                throw problem(value.location, "`\(key)` must be a duration such as 10s")
            }
            configuration[keyPath: path] = duration.seconds
        }
        if let attempts = node["attempts"] {
            guard let count = Int(try text(attempts, "attempts")), (1...20).contains(count) else { throw problem(attempts.location, "`attempts` must be a whole number from 1 to 20") }
            configuration.attempts = count
        }
        return configuration
    }

    /// The keys only an e-mail channel takes.
    private static let mailKeys = ["from", "to", "username", "password", "tls", "ca_file"]

    /// An e-mail channel's settings from its entry and its `smtp://` or `smtps://` URL.
    private func mailSettings(named name: String, _ node: YAMLNode, url: URL, password: String?) throws -> MailSettings {
        func address(_ value: YAMLNode, _ key: String) throws -> String {
            let address = try text(value, key)
            guard MailSettings.isPlainAddress(address) else {
                throw problem(value.location, "`\(key)` must hold plain addresses such as alerts@example.com (got '\(address)')")
            }
            return address
        }
        guard let fromNode = node["from"] else { throw problem(node.location, "channel '\(name)' needs `from` (the sender's address)") }
        let recipients: [String]
        switch node["to"] {
        case let .sequence(items, _)?: recipients = try items.map { try address($0, "to") }
        case let value?: recipients = [try address(value, "to")]
        case nil: recipients = []
        }
        guard !recipients.isEmpty else { throw problem(node["to"]?.location ?? node.location, "channel '\(name)' needs `to` (one address or a list)") }
        var security: MailSettings.Security = url.scheme == "smtps" ? .tls : .starttls
        if let tls = node["tls"] {
            let value = try text(tls, "tls")
            guard let named = MailSettings.Security(rawValue: value) else {
                throw problem(tls.location, "`tls` must be \(MailSettings.Security.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(value)')")
            }
            security = named
        }
        let username = try node["username"].map { try text($0, "username") }
        if security == .none && (username != nil || password != nil) {
            throw problem((node["tls"] ?? node).location, "channel '\(name)' sends a password, so it needs `tls: starttls` or `tls`, not `none`")
        }
        if username != nil && (password ?? "").isEmpty { throw problem(node.location, "channel '\(name)' has a `username` but no `password`") }
        let trusted = try node["ca_file"].map { value in
            let path = try text(value, "ca_file")
            guard FileManager.default.isReadableFile(atPath: path) else { throw problem(value.location, "`ca_file` \(path) cannot be read") }
            return path
        }
        let port = url.port ?? (security == .tls ? 465 : 587)
        guard let host = url.host, !host.isEmpty, (1...65_535).contains(port) else {
            throw problem(node["url"]?.location ?? node.location, "channel '\(name)' needs a host and a port from 1 to 65535 in `url`")
        }
        return MailSettings(host: host, port: port, security: security, from: try address(fromNode, "from"), recipients: recipients,
                            username: username, trustedCertificates: trusted)
    }

    private var kinds: String { ChannelConfiguration.Kind.allCases.map(\.rawValue).joined(separator: ", ") }

    /// A scalar's text with `${VARIABLE}` references replaced from the environment.
    private func text(_ node: YAMLNode, _ key: String) throws -> String {
        guard case let .scalar(scalar) = node, !scalar.isNull else { throw problem(node.location, "`\(key)` must be text") }
        var result = ""
        var rest = Substring(scalar.text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else { throw problem(scalar.location, "unclosed ${ in `\(key)`") }
            let name = String(rest[start.upperBound..<end])
            guard let value = environment[name], !value.isEmpty else {
                throw problem(scalar.location, "`\(key)` refers to ${\(name)}, which is not set in the environment")
            }
            result += value
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }

    private func problem(_ location: SourceLocation, _ message: String) -> ChannelConfigurationError {
        ChannelConfigurationError(description: "\(location): \(message)")
    }
}
