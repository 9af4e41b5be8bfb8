import Foundation
import Hummingbird
import Logging
import VigilEngine
import VigilWorkflow

/// A local stand-in for the services alerts and routing changes go to: it accepts what Vigil's
/// Slack, PagerDuty, Alertmanager and webhook channels and the promote step's routing push send,
/// and hands each as one readable line to `deliver`. `vigil demo` prints them.
public struct NotificationReceiver: Sendable {
    let deliver: @Sendable (_ channel: String, _ line: String) async -> Void
    let logger: Logger

    public init(logger: Logger, deliver: @escaping @Sendable (_ channel: String, _ line: String) async -> Void) {
        self.logger = logger
        self.deliver = deliver
    }

    /// The channels of a receiver listening at `base`: one per kind, each under its own path.
    public static func channels(at base: String) -> ChannelDirectory {
        ChannelDirectory(channels: Dictionary(uniqueKeysWithValues: ChannelConfiguration.Kind.allCases.filter(\.isHTTP).map { kind in
            (kind.rawValue, ChannelConfiguration(name: kind.rawValue, kind: kind, url: "\(base)/\(kind.rawValue)", secret: [.webhook, .opsgenie, .datadog].contains(kind) ? "demo" : nil))
        }))
    }

    /// The receiver as a service on 127.0.0.1; `onListening` gets the port.
    public func application(onListening: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.post("**") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let channel = request.uri.path.split(separator: "/").first.map(String.init) ?? "webhook"
            let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: body))
            await deliver(channel, Self.describe(channel: channel, value))
            return Response(status: channel == ChannelConfiguration.Kind.pagerduty.rawValue ? .accepted : .ok)
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "vigil-receiver"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) }, logger: logger
        )
    }

    /// One line for what a channel was sent.
    static func describe(channel: String, _ value: JSONValue?) -> String {
        guard let value else { return "(not JSON)" }
        switch channel {
        case "slack":
            return firstLine(value["text"]?.stringValue ?? "")
        case "pagerduty":
            let action = value["event_action"]?.stringValue ?? "?"
            let summary = value["payload"]?["summary"]?.stringValue.map { ": " + $0 } ?? ""
            return "\(action) \(value["dedup_key"]?.stringValue ?? "")\(summary)"
        case "alertmanager":
            guard case let .array(alerts) = value else { return "(unexpected payload)" }
            return alerts.map { alert in
                let labels = alert["labels"]
                let state = alert["endsAt"]?.stringValue == nil ? "firing" : "resolved"
                return "\(labels?["alertname"]?.stringValue ?? "?") \(labels?["severity"]?.stringValue ?? "") \(state)"
            }.joined(separator: "; ")
        case "teams":
            guard case let .array(attachments)? = value["attachments"], case let .array(body)? = attachments.first?["content"]?["body"] else {
                return "(unexpected payload)"
            }
            return firstLine(body.first?["text"]?.stringValue ?? "")
        case "datadog":
            let attributes = value["data"]?["attributes"]
            return "\(attributes?["attributes"]?["status"]?.stringValue ?? "?") \(firstLine(attributes?["title"]?.stringValue ?? ""))"
        case "opsgenie":
            return firstLine(value["message"]?.stringValue ?? value["note"]?.stringValue ?? "notification")
        case "routing":
            let champion = value["champion_version"]?.intValue.map { "champion v\($0)" } ?? "no champion"
            let canary = value["canary_version"]?.intValue.map { version in
                "canary v\(version) at \(NumberText.format(((value["canary_weight"]?.numberValue ?? 0) * 100).rounded()))%"
            }
            return ([champion] + [canary].compactMap { $0 }).joined(separator: ", ")
        default:
            return firstLine(value["summary"]?.stringValue ?? value["event"]?.stringValue ?? "notification")
        }
    }

    static func firstLine(_ text: String) -> String {
        let line = text.split(separator: "\n").first.map(String.init) ?? text
        return line.count > 160 ? String(line.prefix(159)) + "…" : line
    }
}
