import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import VigilStore
import VigilTesting

/// Starts `vigil serve --port 0 --no-workers --max-body N` (and `arguments`) on the database at
/// `url` (`nil`: the embedded cluster of `VIGIL_HOME` in `environment`), and returns its base URL
/// once it listens.
func startServe(
    url: String?, environment: [String: String], maxBody: Int = 4_096, workers: Bool = false, arguments: [String] = [], launcher: [String] = []
) async throws -> (String, VigilProcess.Running) {
    let server = try VigilProcess.start(
        ["serve"] + (url.map { ["--database-url", $0] } ?? []) + ["--port", "0", "--max-body", String(maxBody)] + (workers ? [] : ["--no-workers"]) + arguments,
        environment: environment, launcher: launcher
    )
    // By the clock, not by a count of sleeps: on a loaded two-core machine a start can take many
    // seconds, and a sleep of 20 ms far longer than that.
    let deadline = ContinuousClock.now + .seconds(60)
    while ContinuousClock.now < deadline {
        if let line = server.standardOutputSoFar.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) {
            return (String(line.dropFirst("listening on ".count)), server)
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    kill(server.processIdentifier, SIGKILL)
    throw ServeDidNotStart(standardError: String(server.standardErrorSoFar.suffix(2_000)))
}

/// `vigil serve` did not say it listens within a minute.
struct ServeDidNotStart: Error, CustomStringConvertible {
    let standardError: String
    var description: String { "vigil serve did not start listening within 60 s; its standard error:\n\(standardError)" }
}

@Suite("vigil serve", .timeLimit(.minutes(4)))
struct ServeCommandTests {
    static let workflow = """
        name: fraud-retrain
        model: fraud
        triggers:
          - alert: fraud-drift
            labels: { severity: critical }
        steps:
          wait: { uses: sleep, with: { for: 1s } }
        """

    static func payload(fingerprint: String? = "a1b2c3d4e5f60718", version: String = "4", status: String = "firing") -> String {
        """
        {"receiver": "vigil", "status": "\(status)", "version": "\(version)", "groupKey": "{}:{alertname=\\"fraud-drift\\"}", "truncatedAlerts": 0,
         "groupLabels": {"alertname": "fraud-drift"}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
         "alerts": [{"status": "\(status)", "labels": {"alertname": "fraud-drift", "model": "fraud", "severity": "critical"},
                     "annotations": {"summary": "fraud score drift"}, "startsAt": "2026-11-24T10:00:00.123Z", "endsAt": "0001-01-01T00:00:00Z",
                     "generatorURL": "http://prometheus/graph"\(fingerprint.map { ", \"fingerprint\": \"\($0)\"" } ?? "")}]}
        """
    }

    /// `POST url` with `body` (and a bearer `token`): the status and the JSON answer.
    static func post(_ url: String, _ body: String, token: String? = nil) async throws -> (Int, [String: Any]) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), (try? JSONSerialization.jsonObject(with: Data(buffer: bytes))) as? [String: Any] ?? [:])
    }

    @Test("an Alertmanager webhook payload starts the matching workflow once per incident; malformed or oversized payloads get 4xx and start nothing")
    func alertmanagerReceiver() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-serve-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let file = folder.appendingPathComponent("fraud-retrain.yaml")
            try Self.workflow.write(to: file, atomically: true, encoding: .utf8)
            let applied = try await VigilProcess.run(["apply", file.path, "--database-url", url], environment: environment)
            #expect(applied.status == 0, "\(applied.standardError)")

            let (base, server) = try await startServe(url: url, environment: environment)
            let endpoint = "\(base)/api/v1/alertmanager"
            let runs = RunStore(database: database)
            let (_, token) = try await TokenStore(database: database).create(principal: "alertmanager", roles: [.operator], actor: "t", now: Date())
            #expect(try await Self.post(endpoint, Self.payload()).0 == 401)

            let (status, body) = try await Self.post(endpoint, Self.payload(), token: token)
            #expect(status == 200, "\(body)")
            let result = (body["alerts"] as? [[String: Any]])?.first
            #expect(result?["status"] as? String == "firing")
            #expect((result?["runs"] as? [[String: Any]])?.first?["outcome"] as? String == "created")
            let started = try await runs.list(workflow: "fraud-retrain", state: nil, limit: 10)
            #expect(started.count == 1)
            #expect(started.first?.trigger.kind == .alert && started.first?.trigger.fingerprint == "a1b2c3d4e5f60718")
            #expect(started.first?.trigger.labels["severity"] == "critical")

            // Alertmanager re-sends while the alert fires: the same incident, no second run.
            let (again, againBody) = try await Self.post(endpoint, Self.payload(), token: token)
            #expect(again == 200)
            #expect(((againBody["alerts"] as? [[String: Any]])?.first?["runs"] as? [[String: Any]])?.first?["outcome"] as? String == "existing")

            let alerts = AlertStore(database: database)
            let before = try await alerts.list().count
            for (bad, code, message) in [
                ("{not json", 400, "the body is not valid JSON"),
                (Self.payload(fingerprint: nil), 400, "'alerts[0].fingerprint' must be a non-empty string"),
                (Self.payload(version: "3"), 400, "'version' is \"3\"; Vigil reads version \"4\""),
                ("[1, 2]", 400, "the body must be a JSON object (Alertmanager webhook payload, version 4)"),
                (Self.payload().replacingOccurrences(of: "\"startsAt\": \"2026-11-24T10:00:00.123Z\"", with: "\"startsAt\": 12"), 400, "'alerts[0].startsAt' must be an RFC 3339 time"),
                (String(repeating: " ", count: 5_000) + Self.payload(), 413,
                 "the body (Content-Length \(5_000 + Self.payload().utf8.count)) is larger than the server's limit of 4096 bytes (--max-body)"),
            ] {
                let (status, body) = try await Self.post(endpoint, bad, token: token)
                let error = body["error"] as? [String: Any]
                #expect(status == code && error?["message"] as? String == message && error?["status"] as? Int == code, "\(status) \(body)")
            }
            #expect(try await runs.list(workflow: "fraud-retrain", state: nil, limit: 10).count == 1)
            #expect(try await alerts.list().count == before)

            // Resolution from Alertmanager closes the alert.
            let (resolved, _) = try await Self.post(endpoint, Self.payload(status: "resolved"), token: token)
            #expect(resolved == 200)
            #expect(try await alerts.list().first?.state == .resolved)
            #expect(try await alerts.list().first?.resolvedBy == "alertmanager:vigil")

            for (path, answer) in [("/health", "ok"), ("/ready", "ready")] {
                let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + path), timeout: .seconds(5))
                let bytes = try await response.body.collect(upTo: 1 << 16)
                #expect(response.status == .ok && String(buffer: bytes) == "{\"status\":\"\(answer)\"}")
            }
            kill(server.processIdentifier, SIGTERM)
            let exit = try await server.wait()
            #expect(exit.status == 0, "\(exit.standardError)")
        }
    }
}
