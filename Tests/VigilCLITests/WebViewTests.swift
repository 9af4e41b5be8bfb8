import Foundation
import Testing
import VigilStore
import VigilTesting

/// Runs headless Chromium (Debian's `chromium`) on `url`, off the network but for loopback.
func chromium(_ arguments: [String]) async throws -> (status: Int32, output: String) {
    guard let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        Issue.record("Chromium is not installed: `apt-get install --no-install-recommends chromium` (scripts/test does it)")
        throw CancellationError()
    }
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-chromium-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let output = folder.appendingPathComponent("out.html")
    _ = FileManager.default.createFile(atPath: output.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run",
        "--disable-sync", "--user-data-dir=\(folder.appendingPathComponent("profile").path)", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ] + arguments
    process.standardOutput = try FileHandle(forWritingTo: output)
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = ContinuousClock.now + .seconds(60)
    while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
}

@Suite("The auditor's web view", .timeLimit(.minutes(3)))
struct WebViewTests {
    @Test("headless Chromium renders a real run's timeline with who approved it, and a model's changelog with drift charts")
    func pages() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            let tokens = try await APITests.seed(database, url: url, environment: environment)
            for (hour, score) in [(0, 0.05), (1, 0.12), (2, 0.31)] {
                try await MetricRowsFixture.window("churn", start: Date(timeIntervalSince1970: 1_764_000_000 + Double(hour) * 3_600),
                                                   drift: [("tenure", score)], in: database)
            }
            let (base, server) = try await startServe(url: url, environment: environment, workers: true)
            defer { kill(server.processIdentifier, SIGTERM) }
            #expect(try await VigilProcess.run(["run", "retrain", "--database-url", url], environment: environment).status == 0)
            let store = RunStore(database: database)
            let run = try #require(try await store.list(workflow: "retrain").first?.id)
            var waiting = false
            for _ in 0..<300 where !waiting {
                waiting = try await store.steps(ofRun: run).first?.state == .awaitingApproval
                if !waiting { try await Task.sleep(for: .milliseconds(50)) }
            }
            try #require(waiting)
            let login = "\(base)/ui/login?token=\(tokens["viewer"]!)&next="
            let pending = try await chromium(["--dump-dom", login + "/ui/approvals"])
            #expect(pending.output.contains("id=\"approvals\"") && pending.output.contains("href=\"/ui/runs/\(run)\""), "\(pending.output.prefix(800))")
            #expect(pending.output.contains("approver (or admin)") && pending.output.contains("0 of 1") && pending.output.contains("(may not approve)"))
            let approved = try await VigilProcess.run(["approve", String(run), "wait", "--reason", "looks fine", "--as", "alice", "--database-url", url], environment: environment)
            #expect(approved.status == 0, "\(approved.standardError)")
            var finished = false
            for _ in 0..<300 where !finished {
                finished = try await store.run(run).state == .succeeded
                if !finished { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(finished)
            #expect(try await chromium(["--dump-dom", login + "/ui/approvals"]).output.contains("No step is waiting for approval."))

            for page in ["/ui/runs", "/ui/runs/\(run)", "/ui/alerts", "/ui/alerts/1", "/ui/approvals", "/ui/models", "/ui/models/churn"] {
                let anonymous = try await APIClient(base: base).call("GET", page)
                #expect(anonymous.status == 401, "\(page)")
                #expect(try await APIClient(base: base).call("GET", page, token: "vgl_forged").status == 401, "\(page)")
            }
            let sensitive = try await APIClient(base: base).call("GET", "/ui/models/fraud", token: tokens["viewer"])
            #expect(sensitive.status == 403)

            let timeline = try await chromium(["--dump-dom", login + "/ui/runs/\(run)"])
            #expect(timeline.status == 0)
            #expect(timeline.output.contains("<h1>Run \(run)</h1>") && timeline.output.contains("id=\"timeline\""), "\(timeline.output.prefix(500))")
            #expect(timeline.output.contains("approved: looks fine") && timeline.output.contains("<td>alice</td>"))
            #expect(timeline.output.contains("awaiting_approval → ready") && timeline.output.contains("class=\"state-succeeded\""))
            #expect(timeline.output.contains("signed in as viewer-bot"))

            let model = try await chromium(["--dump-dom", login + "/ui/models/churn"])
            #expect(model.output.contains("<h1>Model churn</h1>") && model.output.contains("Drift score per feature"))
            #expect(model.output.contains("<polyline") && model.output.contains("id=\"changelog\"") && model.output.contains("registered"))
            let report = try await chromium(["--dump-dom", login + "/ui/models/churn/report"])
            #expect(report.output.contains("<h1>Report: churn</h1>") && report.output.contains("id=\"figures\"") && report.output.contains("id=\"quality-chart\""))
            #expect(report.output.contains("signed in as viewer-bot"))
            let runs = try await chromium(["--dump-dom", login + "/ui/runs?state=succeeded"])
            #expect(runs.output.contains("href=\"/ui/runs/\(run)\""))

            // An alert's page shows why (reasons, top drivers) and each channel's delivery history.
            var finding = AlertFinding(model: "churn", rule: "churn-latency", severity: .hard, channels: ["pagerduty"])
            finding.details = [
                "reasons": .array([.string("hard: drift_share: drift share 0.5 ≥ 0.4 (tenure_months 0.31); top drivers: tenure_months 0.62")]),
                "drivers": .array([.object([
                    "feature": .string("tenure_months"), "share": .number(0.62), "drift_share": .number(0.7), "reference_importance": .number(0.3),
                    "current_importance": .number(0.05),
                ])]),
            ]
            let paged = try await AlertStore(database: database).raise(finding, idempotencyKey: nil, runID: nil, actor: "t", now: Date()).alert
            let outbox = NotificationOutbox(database: database)
            let claim = try #require(try await outbox.claim(alertID: paged.id, owner: "t", lease: 30, now: Date()).first)
            try await outbox.finish(claim.notification, .decided(.dead(reason: "refused (400, not retried): invalid routing key")), attempts: 1, status: 400,
                                    actor: "t", now: Date())
            let alertPage = try await chromium(["--dump-dom", login + "/ui/alerts/\(paged.id)"])
            #expect(alertPage.output.contains("<h1>Alert \(paged.id)</h1>") && alertPage.output.contains("id=\"notifications\""), "\(alertPage.output.prefix(800))")
            #expect(alertPage.output.contains("class=\"state-dead\"") && alertPage.output.contains("invalid routing key") && alertPage.output.contains("dead_lettered"))
            #expect(alertPage.output.contains("id=\"reasons\"") && alertPage.output.contains("drift share 0.5 ≥ 0.4"))
            #expect(alertPage.output.contains("id=\"drivers\"") && alertPage.output.contains("<td>tenure_months</td><td>0.620</td><td>0.700</td><td></td><td>0.300 → 0.050</td>"), "\(alertPage.output)")
            #expect(report.output.contains("<h2>What drove the drift</h2>"))
            #expect(try await chromium(["--dump-dom", login + "/ui/alerts"]).output.contains("href=\"/ui/alerts/\(paged.id)\""))

            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-shot-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let shot = folder.appendingPathComponent("model.png")
            _ = try await chromium(["--screenshot=\(shot.path)", "--window-size=1200,900", login + "/ui/models/churn"])
            let size = (try? FileManager.default.attributesOfItem(atPath: shot.path)[.size] as? Int) ?? 0
            #expect(size > 10_000, "the screenshot is \(size) bytes")
        }
    }
}
