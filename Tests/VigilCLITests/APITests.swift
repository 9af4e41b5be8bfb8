import AsyncHTTPClient
import Foundation
import NIOCore
import PostgresNIO
import Testing
import VigilStore
import VigilTesting

/// Calls `vigil serve`'s API.
struct APIClient: Sendable {
    let base: String

    func call(_ method: String, _ path: String, token: String? = nil, body: String? = nil, contentType: String = "application/json") async throws -> (status: Int, json: [String: Any], headers: [String: String]) {
        var request = HTTPClientRequest(url: base + path)
        request.method = .init(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: bytes))) as? [String: Any] ?? [:]
        return (Int(response.status.code), json, Dictionary(response.headers.map { ($0.name.lowercased(), $0.value) }) { first, _ in first })
    }
}

/// The operations the OpenAPI document declares under `/api/v1`, and `/metrics`: `METHOD path`.
func documentedOperations() throws -> Set<String> {
    let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/openapi.yaml").standardized
    var operations = Set<String>()
    var path: String?
    for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
        if line.hasPrefix("  /") { path = String(line.dropFirst(2).dropLast()) }
        else if !line.hasPrefix("    ") { path = nil }
        else if let path, path.hasPrefix("/api/v1") || path == "/metrics", let method = ["get", "post", "put", "patch", "delete"].first(where: { line == "    \($0):" }) {
            operations.insert("\(method.uppercased()) \(path)")
        }
    }
    return operations
}

@Suite("The HTTP API", .timeLimit(.minutes(3)))
struct APITests {
    /// A database with two models (fraud marked sensitive), an alert and a run of each, and a token per role.
    static func seed(_ database: Database, url: String, environment: [String: String]) async throws -> [String: String] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-api-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try """
            name: retrain
            model: churn
            steps:
              wait: { uses: approval }
            """.write(to: folder.appendingPathComponent("retrain.yaml"), atomically: true, encoding: .utf8)
        try """
            name: fraud-watch
            model: fraud
            sensitive: true
            steps:
              wait: { uses: sleep, with: { for: 1s } }
            """.write(to: folder.appendingPathComponent("fraud.yaml"), atomically: true, encoding: .utf8)
        let applied = try await VigilProcess.run(["apply", folder.path, "--database-url", url], environment: environment)
        #expect(applied.status == 0, "\(applied.standardError)")
        let alerts = AlertStore(database: database)
        for model in ["churn", "fraud"] {
            _ = try await alerts.raise(AlertFinding(model: model, rule: "\(model)-drift", severity: .hard), idempotencyKey: nil, runID: nil, actor: "t", now: Date())
            try await ModelRegistry(database: database).register(NewModelVersion(artifactURI: "s3://m/\(model)/1", framework: "external"), of: model,
                                                                 alias: "champion", actor: "t", now: Date())
            try await MetricRowsFixture.window(model, start: Date(timeIntervalSince1970: 1_764_000_000), in: database)
        }
        let tokens = TokenStore(database: database)
        var issued: [String: String] = [:]
        for (name, roles, sensitive) in [
            ("viewer", [AccessRole.viewer], [String]()), ("auditor", [.auditor], []), ("operator", [.operator], []), ("approver", [.approver], []),
            ("admin", [.admin], []), ("fraud-viewer", [.viewer], ["fraud"]), ("ingest", [.ingest], []),
        ] {
            issued[name] = try await tokens.create(principal: "\(name)-bot", roles: Set(roles), sensitiveModels: Set(sensitive), actor: "t", now: Date()).token
        }
        return issued
    }

    @Test("every endpoint answers 401 without a token and 403 with a token lacking its role; a viewer never sees a sensitive model; bad input gets 4xx and changes nothing")
    func accessAndValidation() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            let tokens = try await Self.seed(database, url: url, environment: environment)
            let (base, server) = try await startServe(url: url, environment: environment)
            defer { kill(server.processIdentifier, SIGTERM) }
            let api = APIClient(base: base)
            let reason = #"{"reason": "checking"}"#
            // Every operation, the role it needs, and a token that lacks it.
            let operations: [(String, String, String?, String, String?)] = [
                ("GET", "/api/v1/runs", nil, "viewer", nil),
                ("GET", "/api/v1/runs/{id}", nil, "viewer", nil),
                ("POST", "/api/v1/workflows/{workflow}/runs", "{}", "operator", "viewer"),
                ("POST", "/api/v1/runs/{id}/cancel", reason, "operator", "approver"),
                // The approval's own roles decide who may approve (RunExecutionTests.approvalGateRules).
                ("POST", "/api/v1/runs/{id}/steps/{step}/approve", reason, "viewer", nil),
                ("POST", "/api/v1/runs/{id}/steps/{step}/reject", reason, "viewer", nil),
                ("GET", "/api/v1/alerts", nil, "viewer", nil),
                ("GET", "/api/v1/alerts/{id}", nil, "viewer", nil),
                ("POST", "/api/v1/alerts/{id}/acknowledge", reason, "operator", "auditor"),
                ("POST", "/api/v1/alerts/{id}/resolve", reason, "operator", "auditor"),
                ("POST", "/api/v1/alerts/{id}/false-positive", reason, "operator", "auditor"),
                ("POST", "/api/v1/silences", #"{"model": "churn", "for": "1h", "reason": "x"}"#, "operator", "viewer"),
                ("GET", "/api/v1/notifications", nil, "viewer", nil),
                ("POST", "/api/v1/notifications/{id}/retry", reason, "operator", "auditor"),
                ("POST", "/api/v1/alertmanager", "{}", "operator", "approver"),
                ("GET", "/api/v1/models", nil, "viewer", nil),
                ("GET", "/api/v1/models/{model}/routing", nil, "viewer", nil),
                ("GET", "/api/v1/models/{model}/versions", nil, "viewer", nil),
                ("GET", "/api/v1/models/{model}/changelog", nil, "viewer", nil),
                ("GET", "/api/v1/models/{model}/drift", nil, "viewer", nil),
                ("GET", "/api/v1/models/{model}/incidents", nil, "viewer", nil),
                ("POST", "/api/v1/models/{model}/incidents", #"{"onset": "2026-11-24T06:00:00Z", "cause": "checking"}"#, "operator", "auditor"),
                ("GET", "/api/v1/models/{model}/metrics", nil, "viewer", "ingest"),
                ("GET", "/api/v1/audit", nil, "auditor", "operator"),
                ("GET", "/api/v1/audit/verify", nil, "auditor", "viewer"),
                ("GET", "/metrics", nil, "viewer", nil),
                ("POST", "/api/v1/models/{model}/inferences", "request_id,ts\n", "ingest", "viewer"),
                ("POST", "/api/v1/models/{model}/labels", "request_id,label\n", "ingest", "auditor"),
                ("POST", "/api/v1/models/{model}/cloudevents", "{}", "ingest", "viewer"),
            ]
            #expect(Set(operations.map { "\($0.0) \($0.1)" }) == (try documentedOperations()))
            func concrete(_ path: String) -> String {
                path.replacingOccurrences(of: "{id}", with: "1").replacingOccurrences(of: "{workflow}", with: "retrain")
                    .replacingOccurrences(of: "{step}", with: "wait").replacingOccurrences(of: "{model}", with: "churn")
            }
            for (method, path, body, role, lacking) in operations {
                let anonymous = try await api.call(method, concrete(path), body: body)
                #expect(anonymous.status == 401 && (anonymous.json["error"] as? [String: Any])?["code"] as? String == "unauthorized", "\(method) \(path)")
                let forged = try await api.call(method, concrete(path), token: "vgl_not-a-token", body: body)
                #expect(forged.status == 401, "\(method) \(path)")
                if let lacking {
                    let refused = try await api.call(method, concrete(path), token: tokens[lacking], body: body)
                    let message = (refused.json["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(refused.status == 403 && message.contains("lacks the \(role) role"), "\(method) \(path): \(refused.status) \(message)")
                }
            }

            // Sensitive models: hidden from lists, refused by name, shown to a granted token.
            let models = try await api.call("GET", "/api/v1/models", token: tokens["viewer"])
            #expect((models.json["models"] as? [[String: Any]])?.compactMap { $0["model"] as? String } == ["churn"])
            #expect(try await api.call("GET", "/api/v1/models/fraud/drift", token: tokens["viewer"]).status == 403)
            #expect(try await api.call("GET", "/api/v1/models/fraud/routing", token: tokens["operator"]).status == 403)
            let viewerAlerts = try await api.call("GET", "/api/v1/alerts", token: tokens["viewer"])
            #expect((viewerAlerts.json["alerts"] as? [[String: Any]])?.compactMap { $0["model"] as? String } == ["churn"])
            #expect(try await api.call("GET", "/api/v1/alerts?model=fraud", token: tokens["viewer"]).status == 403)
            let granted = try await api.call("GET", "/api/v1/models/fraud/drift", token: tokens["fraud-viewer"])
            #expect(granted.status == 200 && (granted.json["windows"] as? [Any])?.count == 1)
            #expect(try await api.call("GET", "/api/v1/models", token: tokens["admin"]).json["models"].map { ($0 as? [Any])?.count } == 2)

            // Bad input: 4xx with a reason, and nothing changes.
            let auditBefore = try await AuditLog(database: database).list().count
            let alert = "/api/v1/alerts/1/acknowledge"
            for (body, status, message) in [
                ("{bad", 400, "the body is not valid JSON"), (#"{"reason": 5}"#, 422, "'reason' must be a non-empty string of at most 2000 characters, without NUL"),
                ("{}", 422, "'reason' is required: say why (it is recorded)"), ("[1]", 422, "the body must be a JSON object"),
                (#"{"reason": "x\u0000y"}"#, 400, "the body holds a NUL character (\\u0000), which no field accepts"),
                (#"{"reason": ""# + String(repeating: "a", count: 5_000) + #""}"#, 413, "the body (Content-Length 5014) is larger than the server's limit of 4096 bytes (--max-body)"),
            ] {
                let answer = try await api.call("POST", alert, token: tokens["operator"], body: body)
                #expect(answer.status == status && (answer.json["error"] as? [String: Any])?["message"] as? String == message, "\(body.prefix(30)): \(answer.status) \(answer.json)")
            }
            for (method, path, body) in [
                ("GET", "/api/v1/models/churn'%3B%20DROP%20TABLE%20runs%3B--/routing", nil as String?),
                ("GET", "/api/v1/runs?workflow=x'%20OR%20'1'%3D'1", nil), ("GET", "/api/v1/runs?limit=1%3B%20DELETE%20FROM%20runs", nil),
                ("GET", "/api/v1/runs/1%20OR%201%3D1", nil), ("GET", "/api/v1/audit?actor=%27%3B%20DELETE%20FROM%20audit_log%3B--", nil),
                ("POST", "/api/v1/workflows/x'%3BDROP%20TABLE%20runs%3B--/runs", "{}"),
                ("POST", "/api/v1/silences", #"{"model": "churn'; DROP TABLE alerts;--", "for": "1h; DROP", "reason": "x"}"#),
                ("GET", "/api/v1/alerts?state=firing'--", nil),
            ] {
                let answer = try await api.call(method, path, token: tokens["admin"], body: body)
                #expect(answer.status < 500 && (answer.status >= 400 || (answer.json["runs"] as? [Any])?.isEmpty == true
                        || (answer.json["entries"] as? [Any])?.isEmpty == true), "\(method) \(path): \(answer.status)")
            }
            #expect(try await AlertStore(database: database).alert(1).state == .firing)
            #expect(try await AuditLog(database: database).list().count == auditBefore)
            #expect(try await RunStore(database: database).list().isEmpty)

            // Writes work for the right role, and are audited with the token's principal.
            let ack = try await api.call("POST", alert, token: tokens["operator"], body: #"{"reason": "on it"}"#)
            #expect(ack.status == 200 && ack.json["state"] as? String == "acknowledged" && ack.json["acknowledged_by"] as? String == "operator-bot")
            let started = try await api.call("POST", "/api/v1/workflows/retrain/runs", token: tokens["operator"], body: #"{"idempotency_key": "k1"}"#)
            #expect(started.status == 201 && started.json["outcome"] as? String == "created")
            #expect(try await api.call("POST", "/api/v1/workflows/retrain/runs", token: tokens["operator"], body: #"{"idempotency_key": "k1"}"#).json["outcome"] as? String == "existing")
            #expect(try await api.call("POST", "/api/v1/workflows/nope/runs", token: tokens["operator"], body: "{}").status == 404)
            let audit = try await api.call("GET", "/api/v1/audit?actor=operator-bot", token: tokens["auditor"])
            #expect((audit.json["entries"] as? [[String: Any]])?.compactMap { $0["action"] as? String } == ["alert.acknowledged", "run.triggered"])
            let verify = try await api.call("GET", "/api/v1/audit/verify", token: tokens["auditor"])
            #expect(verify.json["intact"] as? Bool == true)
            let wrongMethod = try await api.call("DELETE", "/api/v1/runs", token: tokens["admin"])
            #expect(wrongMethod.status == 405 && wrongMethod.headers["allow"] == "GET")
            let run = try await api.call("GET", "/api/v1/runs/\(started.json["run"] as? Int ?? 0)", token: tokens["viewer"])
            #expect(run.status == 200 && (run.json["steps"] as? [[String: Any]])?.first?["name"] as? String == "wait")

            // Inference batches and labels: the checks and quarantine of `vigil ingest`.
            let csv = "request_id,ts,prediction,score\nr1,2026-11-24T10:00:00Z,1,0.9\nr2,not a time,0,0.1\nr3,2026-11-24T10:05:00Z,0,0.2\n"
            let loaded = try await api.call("POST", "/api/v1/models/churn/inferences?role=canary&model_version=2", token: tokens["operator"], body: csv, contentType: "text/csv")
            #expect(loaded.status == 201 && loaded.json["rows_loaded"] as? Int == 2 && loaded.json["quarantined"] as? Int == 1, "\(loaded.json)")
            #expect((loaded.json["quarantine_sample"] as? [[String: Any]])?.first?["line"] as? Int == 3)
            let roles = try await database.client.query("SELECT role, model_version FROM inference_log WHERE model = 'churn' ORDER BY request_id").decode((String, String).self)
            var stored: [String] = []
            for try await (role, version) in roles { stored.append("\(role)@\(version)") }
            #expect(stored == ["canary@2", "canary@2"])
            let labels = try await api.call("POST", "/api/v1/models/churn/labels", token: tokens["operator"],
                                            body: #"{"request_id": "r1", "label": "1"}"# + "\n" + #"{"request_id": "r3", "label": "0"}"#, contentType: "application/x-ndjson")
            #expect(labels.status == 201 && labels.json["labels"] as? Int == 2, "\(labels.json)")
            let broken = try await api.call("POST", "/api/v1/models/churn/inferences", token: tokens["operator"], body: csv + "r4,\"2026", contentType: "text/csv")
            #expect(broken.status == 400 && (broken.json["error"] as? [String: Any])?["message"] as? String == "body:5: a quoted field is never closed", "\(broken.json)")
            #expect(try await api.call("POST", "/api/v1/models/churn/inferences", token: tokens["operator"], body: csv).status == 415)
            #expect(try await api.call("POST", "/api/v1/models/fraud/inferences", token: tokens["operator"], body: csv, contentType: "text/csv").status == 403)

            // Least privilege: an ingest token logs predictions, shadow answers and labels and reads
            // routing, and nothing else: no reading, approving, silencing or web view.
            let ingest = tokens["ingest"]
            let served = try await api.call("POST", "/api/v1/models/churn/inferences?model_version=1", token: ingest,
                                            body: "request_id,ts,prediction,score\ni1,2026-11-24T11:00:00Z,1,0.8\n", contentType: "text/csv")
            #expect(served.status == 201 && served.json["rows_loaded"] as? Int == 1, "\(served.json)")
            let shadowed = try await api.call("POST", "/api/v1/models/churn/inferences?role=shadow&model_version=2", token: ingest,
                                              body: "request_id,ts,prediction,score\ni1,2026-11-24T11:00:00Z,0,0.4\n", contentType: "text/csv")
            #expect(shadowed.status == 201 && shadowed.json["rows_loaded"] as? Int == 1, "\(shadowed.json)")
            #expect(try await api.call("POST", "/api/v1/models/churn/labels", token: ingest, body: #"{"request_id": "i1", "label": "1"}"#,
                                       contentType: "application/x-ndjson").status == 201)
            #expect(try await api.call("GET", "/api/v1/models/churn/routing", token: ingest).status == 200)
            for (method, path, body) in [
                ("POST", "/api/v1/runs/\(started.json["run"] as? Int ?? 0)/steps/wait/approve", reason as String?),
                ("POST", "/api/v1/silences", #"{"model": "churn", "for": "1h", "reason": "x"}"#), ("POST", "/api/v1/alerts/1/resolve", reason),
                ("GET", "/api/v1/runs", nil), ("GET", "/api/v1/alerts", nil), ("GET", "/metrics", nil), ("GET", "/ui/runs", nil),
                ("POST", "/api/v1/models/fraud/inferences", "request_id,ts\n"),
            ] {
                #expect(try await api.call(method, path, token: ingest, body: body, contentType: path.hasSuffix("inferences") ? "text/csv" : "application/json").status == 403,
                        "\(method) \(path)")
            }
        }
    }
}

@Suite("The API against its OpenAPI document", .timeLimit(.minutes(3)))
struct OpenAPIConformanceTests {
    @Test("schemathesis, run against vigil serve with an admin token, finds no server error and no response that violates the document")
    func schemathesis() async throws {
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let binary = ProcessInfo.processInfo.environment["VIGIL_SCHEMATHESIS"] ?? package.appendingPathComponent(".build/schemathesis/bin/schemathesis").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            Issue.record("schemathesis is not installed at \(binary): `bash scripts/test` installs it (or set VIGIL_SCHEMATHESIS)")
            return
        }
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            let tokens = try await APITests.seed(database, url: url, environment: environment)
            let (base, server) = try await startServe(url: url, environment: environment, maxBody: 1 << 20)
            defer { kill(server.processIdentifier, SIGTERM) }
            // Our own copy of the served document: it must be the one in the repository.
            let served = try await APIClient(base: base).call("GET", "/openapi.yaml")
            #expect(served.status == 200)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-schemathesis-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.currentDirectoryURL = folder
            process.arguments = [
                // Every route, every phase: examples, coverage (boundary and negative values), fuzzing, and
                // stateful sequences that follow the document's links (runs → a run, alerts → an alert, models → a model).
                "--config-file", package.appendingPathComponent("Tests/VigilCLITests/schemathesis.toml").path,
                "run", package.appendingPathComponent("docs/openapi.yaml").path, "--url", base, "-n", "10", "--seed", "1", "--no-color",
                "--phases=examples,coverage,fuzzing,stateful",
                "--header", "Authorization: Bearer \(tokens["admin"]!)",
            ]
            let log = folder.appendingPathComponent("out.txt")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: log)
            process.standardError = process.standardOutput
            process.standardInput = FileHandle.nullDevice
            try process.run()
            while process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            #expect(process.terminationStatus == 0, "schemathesis found problems:\n\(output.components(separatedBy: "\n").filter { $0.contains("ST") || $0.contains("curl") || $0.contains("Invalid") }.joined(separator: "\n"))")
            #expect(output.contains("Selected: 32/32") && output.contains("Tested: 32"), "\(output.suffix(2_000))")
            #expect(output.contains("✅ Stateful"), "\(output.suffix(2_000))")
        }
    }
}

@Suite("Prometheus scraping vigil serve", .timeLimit(.minutes(4)))
struct PrometheusScrapeTests {
    @Test("a real Prometheus scrapes /metrics with a viewer token and reads runs, queue depth, alerts, drift, performance and ingest; a sensitive model stays out")
    func scrape() async throws {
        guard let binary = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            Issue.record("Prometheus is not installed: `apt-get install --no-install-recommends prometheus` (scripts/test does it)")
            return
        }
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            let tokens = try await APITests.seed(database, url: url, environment: environment)
            let window = Date(timeIntervalSince1970: 1_764_000_000)
            for (model, score) in [("churn", 0.31), ("fraud", 0.5)] {
                try await MetricRowsFixture.window(model, start: window, drift: [("tenure", score)], in: database)
            }
            try await database.client.query("""
                INSERT INTO performance_metrics (model, window_start_time, window_end_time, metric, value, labelled_rows, row_count, computed_at)
                VALUES ('churn', \(window), \(window.addingTimeInterval(3_600)), 'f1', 0.8, 100, 100, now())
                """)
            try await database.client.query("""
                INSERT INTO ingest_batches (model, kind, source, actor, rows_read, rows_loaded, quarantined, started_at, finished_at)
                VALUES ('churn', 'inferences', 'log.csv', 't', 10000, 9997, 3, now(), now())
                """)
            #expect(try await VigilProcess.run(["run", "retrain", "--database-url", url], environment: environment).status == 0)
            let (base, server) = try await startServe(url: url, environment: environment)
            defer { kill(server.processIdentifier, SIGTERM) }

            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-prometheus-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try """
                global: { scrape_interval: 1s, evaluation_interval: 1s }
                scrape_configs:
                  - job_name: vigil
                    metrics_path: /metrics
                    authorization: { credentials: "\(tokens["viewer"]!)" }
                    static_configs: [{ targets: ["\(base.replacingOccurrences(of: "http://", with: ""))"] }]
                """.write(to: folder.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
            let port = try EmbeddedCluster.freePort()
            let prometheus = Process()
            prometheus.executableURL = URL(fileURLWithPath: binary)
            prometheus.arguments = ["--config.file=\(folder.appendingPathComponent("p.yml").path)", "--storage.tsdb.path=\(folder.appendingPathComponent("data").path)",
                                    "--web.listen-address=127.0.0.1:\(port)"]
            prometheus.standardOutput = FileHandle.nullDevice
            prometheus.standardError = FileHandle.nullDevice
            prometheus.standardInput = FileHandle.nullDevice
            try prometheus.run()
            defer {
                prometheus.terminate()
                prometheus.waitUntilExit()
            }
            let api = APIClient(base: "http://127.0.0.1:\(port)")
            func query(_ expression: String) async throws -> [(labels: [String: String], value: Double)] {
                let encoded = expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expression
                let answer = try await api.call("GET", "/api/v1/query?query=\(encoded)")
                let results = ((answer.json["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
                return results.map { result in
                    ((result["metric"] as? [String: String]) ?? [:], Double(((result["value"] as? [Any])?.last as? String) ?? "") ?? .nan)
                }
            }
            let deadline = ContinuousClock.now + .seconds(60)
            var scraped = false
            while !scraped && ContinuousClock.now < deadline {
                scraped = (try? await query("vigil_alerts_open"))?.isEmpty == false
                if !scraped { try await Task.sleep(for: .milliseconds(500)) }
            }
            try #require(scraped, "Prometheus never read vigil_alerts_open")
            #expect(try await query("up{job=\"vigil\"}").first?.value == 1)
            #expect(try await query("vigil_alerts_open").map { $0.labels["model"] } == ["churn"])
            #expect(try await query("vigil_alerts_open{model=\"churn\",severity=\"hard\",state=\"firing\"}").first?.value == 1)
            #expect(try await query("vigil_drift_score").map { "\($0.labels["model"] ?? "")/\($0.labels["feature"] ?? "")=\($0.value)" } == ["churn/tenure=0.31"])
            #expect(try await query("vigil_model_performance{model=\"churn\",metric=\"f1\"}").first?.value == 0.8)
            #expect(try await query("vigil_ingested_rows{model=\"churn\"}").first?.value == 9_997)
            #expect(try await query("vigil_quarantined_rows{model=\"churn\"}").first?.value == 3)
            #expect(try await query("vigil_runs{workflow=\"retrain\"}").reduce(0) { $0 + $1.value } == 1)
            #expect(try await query("vigil_queue_depth").first?.value == 1)
            #expect(try await query("vigil_steps{type=\"approval\",state=\"ready\"}").first?.value == 1)
            // The outbox: nothing waits, nothing died.
            for series in ["vigil_notifications_pending", "vigil_notifications_oldest_pending_age_seconds", "vigil_notifications_dead_lettered_total"] {
                #expect(try await query(series).map(\.value) == [0], "\(series)")
            }

            // The Grafana dashboard: well formed, every PromQL panel answered by this Prometheus, every
            // SQL panel, the model variable and the alert annotations run against this database.
            let dashboard = try GrafanaDashboard(model: "churn", from: "2025-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z")
            #expect(dashboard.problems.isEmpty, "\(dashboard.problems)")
            let schema = try await GrafanaDashboard.schemaCheck()
            #expect(schema.status == 0 && schema.output == "valid\n", "\(schema.output)")
            #expect(dashboard.promQL.count >= 5 && dashboard.sql.count >= 5)
            try await Task.sleep(for: .seconds(3))  // two scrapes at least, for rate()
            for (name, expression) in dashboard.promQL {
                let encoded = expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expression
                let answer = try await api.call("GET", "/api/v1/query?query=\(encoded)")
                let results = ((answer.json["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
                #expect(answer.json["status"] as? String == "success" && !results.isEmpty, "\(name): \(expression) → \(answer.json)")
            }
            for (name, sql) in dashboard.sql {
                var rows = 0
                do {
                    for try await _ in try await database.client.query(PostgresQuery(unsafeSQL: sql), logger: database.logger) { rows += 1 }
                } catch {
                    Issue.record("\(name): \(String(reflecting: error))\n\(sql)")
                }
                #expect(rows > 0, "\(name) returned no rows for churn:\n\(sql)")
            }
        }
    }
}
