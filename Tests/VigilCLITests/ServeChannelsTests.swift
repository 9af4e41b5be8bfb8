import Foundation
import Testing
import VigilStore
import VigilTesting

/// `vigil serve --channels FILE`: every service the process starts notifies the file's channels,
/// not only the alert keeper.
@Suite("vigil serve --channels", .timeLimit(.minutes(2)))
struct ServeChannelsTests {
    @Test("a run's escalate step, executed by a worker vigil serve started, notifies a channel named only in --channels; the links it carries open the web view's pages")
    func workersUseTheChannelsFile() async throws {
        try await withReceiver { receiver, requests in
            try await TestDatabase.withFresh { database in
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-channels-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: folder) }
                let channels = folder.appendingPathComponent("channels.yaml")
                try """
                public_url: https://vigil.example.com
                channels:
                  oncall:
                    type: webhook
                    url: \(receiver)/oncall
                """.write(to: channels, atomically: true, encoding: .utf8)
                let workflow = folder.appendingPathComponent("page.yaml")
                try """
                name: page
                model: churn
                steps:
                  escalate:
                    uses: escalate
                    with: { severity: hard, reasons: ["accuracy fell"], channels: { hard: [oncall] }, alert: churn-accuracy }
                """.write(to: workflow, atomically: true, encoding: .utf8)
                let url = database.configuration.url(revealingPassword: true)
                // No VIGIL_CHANNELS_FILE: only the flag says where `oncall` is.
                let environment = VigilProcess.cleanEnvironment()
                let applied = try await VigilProcess.run(["apply", workflow.path, "--database-url", url], environment: environment)
                #expect(applied.status == 0, "\(applied.standardError)")
                let (base, server) = try await startServe(url: url, environment: environment, workers: true, arguments: ["--channels", channels.path])
                defer { kill(server.processIdentifier, SIGKILL) }
                let started = try await VigilProcess.run(["run", "page", "--database-url", url], environment: environment)
                #expect(started.status == 0, "\(started.standardError)")

                let deadline = ContinuousClock.now + .seconds(60)
                while try requests().filter({ $0["path"] == "/oncall" }).isEmpty && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                }
                let delivered = try requests().filter { $0["path"] == "/oncall" }
                #expect(delivered.count == 1, "\(delivered)")
                #expect(delivered.first?["body"]?.contains("churn-accuracy") == true)
                // The step delivers before it records its own end: wait for the run to finish.
                var runs = try await RunStore(database: database).list(workflow: "page", state: nil, limit: 5)
                while ["queued", "running", "waiting"].contains(runs.first?.state.rawValue ?? ""), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                    runs = try await RunStore(database: database).list(workflow: "page", state: nil, limit: 5)
                }
                #expect(runs.first?.state.rawValue == "succeeded", "\(runs)")

                // The alert's and the run's links, followed on this server with a viewer's token, are pages.
                let body = try #require(delivered.first?["body"].flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
                let alert = try #require(body["alert"] as? [String: Any])
                let links = try [alert["url"], alert["run_url"]].map { try #require($0 as? String) }
                #expect(links.allSatisfy { $0.hasPrefix("https://vigil.example.com/ui/") }, "\(links)")
                let viewer = try await TokenStore(database: database).create(principal: "viewer", roles: [.viewer], sensitiveModels: [], actor: "t", now: Date()).token
                for link in links {
                    let page = try await APIClient(base: base).call("GET", String(link.dropFirst("https://vigil.example.com".count)), token: viewer)
                    #expect(page.status == 200, "\(link): \(page.status)")
                }
            }
        }
    }
}
