import AsyncHTTPClient
import Foundation
import Testing
import VigilEngine
import VigilStore
import VigilTesting
import VigilWorkflow

/// Starts a real Prometheus Alertmanager on a free loopback port, its webhook receiver pointing at
/// `webhook`, and stops it when `body` returns. `body` gets its base URL and `outage`, which stops
/// the process, runs what it is given, and starts Alertmanager again on the same port and storage.
func withAlertmanager<Result: Sendable>(
    webhook: String, _ body: (_ baseURL: String, _ outage: (_ during: () async throws -> Void) async throws -> Void) async throws -> Result
) async throws -> Result {
    let binary = ["/usr/bin/prometheus-alertmanager", "/usr/local/bin/alertmanager", "/usr/bin/alertmanager"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    guard let binary else {
        Issue.record("Prometheus Alertmanager is not installed: `apt-get install --no-install-recommends prometheus-alertmanager` (scripts/test does it)")
        throw CancellationError()
    }
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-alertmanager-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    try """
        route:
          receiver: vigil-test
          group_by: [alertname, model]
          group_wait: 1s
          group_interval: 1s
          repeat_interval: 1h
        receivers:
          - name: vigil-test
            webhook_configs:
              - url: \(webhook)
                send_resolved: true
        """.write(to: folder.appendingPathComponent("am.yml"), atomically: true, encoding: .utf8)
    let port = try EmbeddedCluster.freePort()
    let base = "http://127.0.0.1:\(port)"
    func start() async throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--config.file=\(folder.appendingPathComponent("am.yml").path)", "--storage.path=\(folder.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=", "--web.external-url=\(base)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let ready = try await eventually(timeout: .seconds(15)) {
            try await HTTPClient.shared.execute(HTTPClientRequest(url: "\(base)/-/ready"), timeout: .seconds(2)).status == .ok
        }
        guard ready else {
            process.terminate()
            Issue.record("Alertmanager did not become ready at \(base)")
            throw CancellationError()
        }
        return process
    }
    var process = try await start()
    defer {
        process.terminate()
        process.waitUntilExit()
    }
    return try await body(base) { during in
        process.terminate()
        process.waitUntilExit()
        try await during()
        process = try await start()
    }
}

/// `GET url` as JSON.
func getJSON(_ url: String) async throws -> Any {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
    let body = try await response.body.collect(upTo: 1 << 20)
    return try JSONSerialization.jsonObject(with: Data(buffer: body))
}

@Suite("Escalation to a real Prometheus Alertmanager", .timeLimit(.minutes(4)))
struct AlertmanagerTests {
    @Test("a hard alert arrives in Alertmanager with its labels and annotations; resolving it closes it there")
    func alertmanagerRoundTrip() async throws {
        try await withReceiver { receiver, requests in
            try await withAlertmanager(webhook: "\(receiver)/am-hook") { alertmanager, _ in
                try await TestDatabase.withFresh { database in
                    let channels = ChannelDirectory(channels: Dictionary(uniqueKeysWithValues: [EscalationFixtures.channel("alertmanager", .alertmanager, alertmanager)]))
                    try await EscalationFixtures.insertDriftedWindow(database)
                    _ = try await EngineFixtures.apply(EscalationFixtures.watch(channels: "{ hard: [alertmanager] }", extra: "labels: { team: growth }"), to: database)
                    let (run, steps) = try await EscalationFixtures.run("watch", in: database, channels: channels)
                    #expect(run.state == .succeeded, "\(steps["escalate"]?.error ?? "")")
                    let alertID = try #require(steps["escalate"]?.outputs?["alert_id"]?.stringValue)

                    func active() async throws -> [[String: Any]] {
                        (try await getJSON("\(alertmanager)/api/v2/alerts") as? [[String: Any]] ?? []).filter {
                            ($0["labels"] as? [String: String])?["alertname"] == "churn-drift"
                        }
                    }
                    let alerts = try await active()
                    #expect(alerts.count == 1)
                    let labels = alerts.first?["labels"] as? [String: String] ?? [:]
                    #expect(labels == ["alertname": "churn-drift", "model": "churn", "severity": "hard", "subject": "model", "source": "vigil", "team": "growth"])
                    let annotations = alerts.first?["annotations"] as? [String: String] ?? [:]
                    #expect(annotations["vigil_alert_id"] == alertID)
                    #expect(annotations["summary"] == "Hard alert: churn-drift on model churn")
                    #expect(annotations["drifted_features"] == "tenure_months: 0.310 (wasserstein_normed), order_amount: 0.120 (wasserstein_normed)")
                    #expect((alerts.first?["status"] as? [String: Any])?["state"] as? String == "active")

                    func hooks(_ status: String) throws -> [[String: Any]] {
                        try requests().filter { $0["path"] == "/am-hook" }.map { EscalationFixtures.json($0["body"]) }.filter { $0["status"] as? String == status }
                    }
                    #expect(try await eventually(timeout: .seconds(15)) { try !hooks("firing").isEmpty })

                    try await AlertStore(database: database).resolve(Int(alertID)!, actor: "alice", reason: "fixed", now: Date())
                    let deliveries = try await AlertNotifier(database: database, channels: channels, logger: EngineFixtures.logger).deliverPending(alertID: Int(alertID)!)
                    #expect(deliveries.map(\.state) == [.delivered])
                    #expect(try await eventually(timeout: .seconds(15)) { try await active().isEmpty })
                    #expect(try await eventually(timeout: .seconds(15)) { try !hooks("resolved").isEmpty })
                    let resolved = try hooks("resolved").first?["alerts"] as? [[String: Any]]
                    #expect((resolved?.first?["labels"] as? [String: String])?["model"] == "churn")
                }
            }
        }
    }

    /// The alerts Alertmanager holds as active for rule `churn-drift`.
    static func active(_ alertmanager: String) async throws -> [[String: Any]] {
        let all = try await getJSON("\(alertmanager)/api/v2/alerts") as? [[String: Any]] ?? []
        return all.filter { ($0["labels"] as? [String: String])?["alertname"] == "churn-drift" }
    }

    static func severity(_ alert: [String: Any]) -> String? { (alert["labels"] as? [String: String])?["severity"] }

    @Test("Alertmanager stopped through an alert's open, escalation and acknowledgement: back again it gets them in order and holds one alert, hard, in one group; the resolution ends it")
    func alertmanagerOutage() async throws {
        try await withReceiver { receiver, requests in
            try await withAlertmanager(webhook: "\(receiver)/am-hook") { alertmanager, outage in
                try await TestDatabase.withFresh { database in
                    let channels = ChannelDirectory(channels: Dictionary(uniqueKeysWithValues: [DeliveryTests.channel("alertmanager", .alertmanager, alertmanager)]))
                    let notifier = AlertNotifier(database: database, channels: channels, logger: EngineFixtures.logger)
                    let store = AlertStore(database: database)
                    let outbox = NotificationOutbox(database: database)
                    var finding = AlertFinding(model: "churn", rule: "churn-drift", severity: .soft, channels: ["alertmanager"])
                    var alertID = 0
                    try await outage {
                        alertID = try await store.raise(finding, idempotencyKey: "a", runID: nil, actor: "t", now: Date()).alert.id
                        try await notifier.deliverPending(alertID: alertID)
                        finding.severity = .hard
                        _ = try await store.raise(finding, idempotencyKey: "b", runID: nil, actor: "t", now: Date())
                        try await notifier.deliverPending(alertID: alertID)
                        _ = try await store.acknowledge(alertID, actor: "alice", reason: "looking", now: Date())
                        try await notifier.deliverPending(alertID: alertID)
                        let waiting = try await outbox.notifications(ofAlert: alertID)
                        let kinds = waiting.map(\.kind)
                        let allPending = waiting.allSatisfy { $0.state == .pending }
                        #expect(kinds == [.trigger, .escalate, .acknowledge] && allPending)
                        // The first was tried and found nobody listening; the rest wait behind it.
                        let failed = try await outbox.list(state: .failed)
                        #expect(failed.map(\.kind) == [.trigger] && failed.first?.lastError?.contains("did not answer") == true, "\(failed.map(\.lastError))")
                    }

                    try await DeliveryTests.keepUntilDelivered(database, channels: channels)
                    let states = try await outbox.notifications(ofAlert: alertID).map { "\($0.kind.rawValue) \($0.state.rawValue)" }
                    #expect(states == ["trigger delivered", "escalate delivered", "acknowledge skipped"])
                    let held = try await Self.active(alertmanager)
                    #expect(held.count == 1 && held.first.flatMap(Self.severity) == "hard", "\(held)")

                    func hooks() throws -> [[String: Any]] {
                        try requests().filter { $0["path"] == "/am-hook" }.map { EscalationFixtures.json($0["body"]) }
                    }
                    let fired = try await eventually(timeout: .seconds(15)) { try !hooks().isEmpty }
                    #expect(fired)
                    _ = try await store.resolve(alertID, actor: "alice", reason: "fixed", now: Date())
                    try await notifier.deliverPending(alertID: alertID)
                    let cleared = try await eventually(timeout: .seconds(15)) { try await Self.active(alertmanager).isEmpty }
                    #expect(cleared)
                    let resolvedHook = try await eventually(timeout: .seconds(15)) {
                        try hooks().contains { $0["status"] as? String == "resolved" }
                    }
                    #expect(resolvedHook)
                    // One incident: every notification Alertmanager sent is of one group, and no soft alert ever fired there.
                    let groups = Set(try hooks().compactMap { $0["groupKey"] as? String })
                    #expect(groups.count == 1, "\(groups)")
                    let firing = try hooks().flatMap { $0["alerts"] as? [[String: Any]] ?? [] }.filter { $0["status"] as? String == "firing" }
                    let firingSeverities = Set(firing.compactMap(Self.severity))
                    #expect(firingSeverities == ["hard"])
                }
            }
        }
    }

    @Test("an escalation ends the soft alert in Alertmanager as it starts the hard one: it holds one alert, hard")
    func alertmanagerEscalation() async throws {
        try await withAlertmanager(webhook: "http://127.0.0.1:9/unused") { alertmanager, _ in
            try await TestDatabase.withFresh { database in
                let channels = ChannelDirectory(channels: Dictionary(uniqueKeysWithValues: [EscalationFixtures.channel("alertmanager", .alertmanager, alertmanager)]))
                let notifier = AlertNotifier(database: database, channels: channels, logger: EngineFixtures.logger)
                let store = AlertStore(database: database)
                var finding = AlertFinding(model: "churn", rule: "churn-drift", severity: .soft, channels: ["alertmanager"])
                let alertID = try await store.raise(finding, idempotencyKey: "a", runID: nil, actor: "t", now: Date()).alert.id
                try await notifier.deliverPending(alertID: alertID)
                let soft = try await Self.active(alertmanager).compactMap(Self.severity)
                #expect(soft == ["soft"])
                finding.severity = .hard
                _ = try await store.raise(finding, idempotencyKey: "b", runID: nil, actor: "t", now: Date())
                #expect(try await notifier.deliverPending(alertID: alertID).map(\.state) == [.delivered])
                let hard = try await Self.active(alertmanager).compactMap(Self.severity)
                #expect(hard == ["hard"])
            }
        }
    }

    @Test("open alerts are posted to Alertmanager again each refresh, so it keeps them past their endsAt; when the refreshes stop it lets them go")
    func alertmanagerRefresh() async throws {
        try await withReceiver { receiver, _ in
            try await withAlertmanager(webhook: "\(receiver)/am-hook") { alertmanager, _ in
                try await TestDatabase.withFresh { database in
                    var channel = EscalationFixtures.channel("alertmanager", .alertmanager, alertmanager).1
                    // Three seconds, not one: a busy machine must not starve a refresh past endsAt.
                    channel.refresh = 3
                    let channels = ChannelDirectory(channels: ["alertmanager": channel])
                    let notifier = AlertNotifier(database: database, channels: channels, logger: EngineFixtures.logger)
                    let finding = AlertFinding(model: "churn", rule: "churn-drift", severity: .hard, channels: ["alertmanager"])
                    let alertID = try await AlertStore(database: database).raise(finding, idempotencyKey: nil, runID: nil, actor: "t", now: Date()).alert.id
                    let sentAt = Date()
                    #expect(try await notifier.deliverPending(alertID: alertID).map(\.state) == [.delivered])
                    // Firing until four refreshes ahead.
                    let endsAt = try #require(try await Self.active(alertmanager).first?["endsAt"] as? String)
                    let end = try #require(ISO8601DateFormatter.precise.date(from: endsAt) ?? ISO8601DateFormatter().date(from: endsAt))
                    #expect(abs(end.timeIntervalSince(sentAt) - 12) < 1.5, "\(endsAt)")

                    // One keeper's turn at a time: a second claim within the interval gets none.
                    let outbox = NotificationOutbox(database: database)
                    #expect(try await outbox.claimRefresh(of: "alertmanager", interval: 3, now: Date())?.map(\.id) == [alertID])
                    #expect(try await outbox.claimRefresh(of: "alertmanager", interval: 3, now: Date()) == nil)

                    let until = ContinuousClock.now + .seconds(18)
                    while ContinuousClock.now < until {
                        try await notifier.refreshAlertmanagers()
                        try await Task.sleep(for: .milliseconds(300))
                    }
                    let kept = try await Self.active(alertmanager)
                    #expect(kept.count == 1, "still firing 18 s after a first endsAt of 12 s")
                    // Vigil gone quiet: Alertmanager resolves it by itself once the last endsAt passes.
                    let letGo = try await eventually(timeout: .seconds(35)) { try await Self.active(alertmanager).isEmpty }
                    #expect(letGo)
                }
            }
        }
    }
}
