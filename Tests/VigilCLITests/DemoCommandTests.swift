import Foundation
import Testing
import VigilStore
import VigilTesting

@Suite("vigil demo and vigil report", .timeLimit(.minutes(10)))
struct DemoCommandTests {
    /// The parts of `vigil report --format json` the test reads.
    struct Report: Decodable {
        struct Figures: Decodable {
            let incidents: Int
            let onsetToFirstAlert: Double?
            let meanTimeToRecover: Double?
            let automatedMitigation: Double?
            let alertPrecision: Double?
            let alertRecall: Double?
            let uptime: Double?
        }

        struct Event: Decodable {
            let at: Date
            let kind: String
            let summary: String
        }

        let figures: Figures
        let timeline: [Event]
    }

    @Test("on the embedded cluster with nothing configured, the demo closes the loop; the report agrees with its timeline; the HTML shows both charts")
    func demo() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        chmod(home.path, 0o755)
        let environment = VigilProcess.cleanEnvironment(["VIGIL_HOME": home.path])
        defer {
            _ = try? EmbeddedCluster(home: home).stop()
            try? FileManager.default.removeItem(at: home)
        }
        let workflows = WorkflowCommandsTests.repository.appendingPathComponent("workflows").path

        let demo = try await VigilProcess.run(["demo", "--hours", "24", "--workflows", workflows], environment: environment)
        #expect(demo.status == 0, "\(demo.standardError)")
        let output = demo.standardOutput
        // Not a terminal: no live status lines, only the summary.
        #expect(!output.contains("T+01h"))
        for line in ["churn@2 on canary at 10%", "churn@2 on canary at 50%", "churn@2 promoted to champion", "incidents mitigated automatically"] {
            #expect(output.contains(line), "missing: \(line)\n\(output)")
        }

        let json = try await VigilProcess.run(["report", "--format", "json"], environment: environment)
        #expect(json.status == 0, "\(json.standardError)")
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let report = try decoder.decode(Report.self, from: Data(json.standardOutput.utf8))
        let onset = try #require(report.timeline.first { $0.kind == "drift_onset" }).at
        let soft = try #require(report.timeline.first { $0.kind == "alert_raised" }).at
        let hard = try #require(report.timeline.first { $0.kind == "alert_escalated" }).at
        let promoted = try #require(report.timeline.first { $0.kind == "promoted" }).at
        #expect(report.figures.incidents == 1)
        #expect(report.figures.onsetToFirstAlert == soft.timeIntervalSince(onset))
        #expect(hard.timeIntervalSince(onset) <= 3 * 3_600)
        #expect(report.figures.meanTimeToRecover == promoted.timeIntervalSince(hard))
        #expect(report.figures.automatedMitigation == 1 && report.figures.alertPrecision == 1 && report.figures.alertRecall == 1)
        // The demo printed the same figures.
        #expect(output.contains("mean time to recover (hard alert → promotion that restored quality)  \(Int(promoted.timeIntervalSince(hard) / 3_600))h"))

        let html = home.appendingPathComponent("report.html")
        #expect(output.contains(html.path))
        let page = try await chromium(["--dump-dom", html.absoluteString])
        #expect(page.status == 0)
        #expect(page.output.contains("id=\"drift-chart\"") && page.output.contains("id=\"quality-chart\""))
        #expect(page.output.components(separatedBy: "<polyline").count - 1 >= 8, "one line per feature and one for F1")
        #expect(page.output.contains("promoted v2") && page.output.contains("hard alert"))

        // The monitoring notebook runs top to bottom against the demo's database through `vigil serve`.
        if let python = PythonClientTests.interpreter() {
            let created = try await VigilProcess.run(["tokens", "create", "--principal", "notebook", "--role", "viewer"], environment: environment)
            let token = try #require(created.standardOutput.split(separator: "\n").last.map(String.init), "\(created.standardError)")
            let (base, server) = try await startServe(url: nil, environment: environment)
            defer { kill(server.processIdentifier, SIGTERM) }
            let notebooks = PythonClientTests.package.appendingPathComponent("examples/notebooks")
            let figures = home.appendingPathComponent("figures")
            let executed = try await PythonClientTests.run(
                python, [notebooks.appendingPathComponent("execute.py").path, notebooks.appendingPathComponent("monitoring.ipynb").path, home.appendingPathComponent("executed.ipynb").path],
                environment: environment.merging(["VIGIL_URL": base, "VIGIL_TOKEN": token, "VIGIL_FIGURES": figures.path]) { $1 }
            )
            #expect(executed.status == 0, "\(executed.output.suffix(3_000))")
            #expect(executed.output.contains("figures") && !executed.output.contains(" 0 figures"), "\(executed.output.suffix(500))")
            for name in ["drift", "performance", "alerts"] {
                let size = (try? FileManager.default.attributesOfItem(atPath: figures.appendingPathComponent("\(name).png").path)[.size] as? Int) ?? 0
                #expect(size > 5_000, "\(name).png: \(size) bytes")
            }
        }

        // Run again: it starts from an empty database, so the history is its own.
        let again = try await VigilProcess.run(["demo", "--hours", "2", "--workflows", workflows], environment: environment)
        #expect(again.status == 0, "\(again.standardError)")
        let runs = try await VigilProcess.run(["runs", "list"], environment: environment)
        let lines = runs.standardOutput.split(separator: "\n")
        #expect(lines.filter { $0.contains("churn-monitor") }.count == 2 && !runs.standardOutput.contains("churn-retrain"), "\(runs.standardOutput)")

        // A database holding someone's own work is refused, and left as it was.
        let own = home.appendingPathComponent("own.yaml")
        try "name: own\nsteps:\n  wait:\n    uses: sleep\n    with: { for: 1s }\n".write(to: own, atomically: true, encoding: .utf8)
        #expect(try await VigilProcess.run(["apply", own.path], environment: environment).status == 0)
        let refused = try await VigilProcess.run(["demo", "--workflows", workflows], environment: environment)
        #expect(refused.status == 1)
        #expect(refused.standardError.contains("holds workflows or models of your own"), "\(refused.standardError)")
        let listed = try await VigilProcess.run(["workflows", "list"], environment: environment)
        #expect(listed.standardOutput.contains("own"))
    }

    @Test("report refuses an unknown model with the ones it knows, and needs --model when there are several")
    func reportErrors() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            let none = try await VigilProcess.run(["report", "--database-url", url], environment: environment)
            #expect(none.status == 1 && none.standardError.contains("no model is registered yet"))
            let unknown = try await VigilProcess.run(["report", "--model", "nope", "--database-url", url], environment: environment)
            #expect(unknown.status == 1 && unknown.standardError.contains("no model named 'nope'"))
        }
    }
}
