import AsyncHTTPClient
import Foundation
import Testing
import VigilEngine
import VigilStore
import VigilTesting
import VigilWorkflow

/// Starts a real Prometheus Alertmanager on a free loopback port, its webhook receiver pointing at
/// `webhook`, and stops it when `body` returns.
func withAlertmanager<Result: Sendable>(webhook: String, _ body: (_ baseURL: String) async throws -> Result) async throws -> Result {
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
    defer {
        process.terminate()
        process.waitUntilExit()
    }
    let ready = try await EngineFixtures.eventually(timeout: .seconds(15)) {
        try await HTTPClient.shared.execute(HTTPClientRequest(url: "\(base)/-/ready"), timeout: .seconds(2)).status == .ok
    }
    guard ready else {
        Issue.record("Alertmanager did not become ready at \(base)")
        throw CancellationError()
    }
    return try await body(base)
}

/// `GET url` as JSON.
func getJSON(_ url: String) async throws -> Any {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
    let body = try await response.body.collect(upTo: 1 << 20)
    return try JSONSerialization.jsonObject(with: Data(buffer: body))
}

@Suite("Escalation to a real Prometheus Alertmanager", .timeLimit(.minutes(2)))
struct AlertmanagerTests {
    @Test("a hard alert arrives in Alertmanager with its labels and annotations; resolving it closes it there")
    func alertmanagerRoundTrip() async throws {
        try await withReceiver { receiver, requests in
            try await withAlertmanager(webhook: "\(receiver)/am-hook") { alertmanager in
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
                    #expect(try await EngineFixtures.eventually(timeout: .seconds(15)) { try !hooks("firing").isEmpty })

                    try await AlertStore(database: database).resolve(Int(alertID)!, actor: "alice", reason: "fixed", now: Date())
                    let deliveries = try await AlertNotifier(database: database, channels: channels, logger: EngineFixtures.logger).deliverPending(alertID: Int(alertID)!)
                    #expect(deliveries.map(\.state) == [.delivered])
                    #expect(try await EngineFixtures.eventually(timeout: .seconds(15)) { try await active().isEmpty })
                    #expect(try await EngineFixtures.eventually(timeout: .seconds(15)) { try !hooks("resolved").isEmpty })
                    let resolved = try hooks("resolved").first?["alerts"] as? [[String: Any]]
                    #expect((resolved?.first?["labels"] as? [String: String])?["model"] == "churn")
                }
            }
        }
    }
}
