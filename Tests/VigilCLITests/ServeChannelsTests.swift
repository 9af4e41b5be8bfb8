import Foundation
import Testing
import VigilStore
import VigilTesting

/// `vigil serve --channels FILE`: every service the process starts notifies the file's channels,
/// not only the alert keeper.
@Suite("vigil serve --channels", .timeLimit(.minutes(4)))
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

    @Test("with only a channels file, an alert's open, escalation to hard, acknowledgement and resolution reach a real SMTP server as four mails and Teams, Opsgenie and Datadog receivers as their payloads, once each")
    func everyChannelFromTheFile() async throws {
        try await MailServer.with { mail in
            try await withReceiver { receiver, requests in
                try await TestDatabase.withFresh { database in
                    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-channels-\(UUID().uuidString)")
                    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                    defer { try? FileManager.default.removeItem(at: folder) }
                    // Beside the workflows' folder, not in it: `vigil apply` reads every YAML file there.
                    let channels = folder.appendingPathComponent("channels.yaml")
                    let workflows = folder.appendingPathComponent("workflows")
                    try FileManager.default.createDirectory(at: workflows, withIntermediateDirectories: true)
                    try """
                    channels:
                      mail: { type: email, url: "smtp://127.0.0.1:\(mail.port)", from: vigil@example.com, to: [oncall@example.com],
                              username: vigil, password: "${SMTP_PASSWORD}", ca_file: "\(mail.certificate)", retry_delay: 1s }
                      teams: { type: teams, url: "\(receiver)/teams" }
                      opsgenie: { type: opsgenie, url: "\(receiver)/og", api_key: "${OPSGENIE_KEY}" }
                      datadog: { type: datadog, url: "\(receiver)/dd", api_key: "${DD_KEY}" }
                    """.write(to: channels, atomically: true, encoding: .utf8)
                    for severity in ["soft", "hard"] {
                        try """
                        name: watch-\(severity)
                        model: churn
                        steps:
                          escalate:
                            uses: escalate
                            with: { severity: \(severity), reasons: ["drift share 0.6"], channels: { soft: [mail, teams, opsgenie, datadog], hard: [mail, teams, opsgenie, datadog] }, alert: churn-drift }
                        """.write(to: workflows.appendingPathComponent("watch-\(severity).yaml"), atomically: true, encoding: .utf8)
                    }
                    let url = database.configuration.url(revealingPassword: true)
                    let environment = VigilProcess.cleanEnvironment(["SMTP_PASSWORD": MailServer.password, "OPSGENIE_KEY": "genie", "DD_KEY": "dd"])
                    func vigil(_ arguments: String...) async throws -> VigilProcess.Output {
                        try await VigilProcess.run(arguments + ["--database-url", url], environment: environment)
                    }
                    let applied = try await vigil("apply", workflows.path)
                    try #require(applied.status == 0, "\(applied.standardError)")
                    let (_, server) = try await startServe(url: url, environment: environment, workers: true, arguments: ["--channels", channels.path])
                    defer { kill(server.processIdentifier, SIGKILL) }
                    func waitFor(_ mails: Int) async throws {
                        let deadline = ContinuousClock.now + .seconds(60)
                        while try mail.messages().count < mails && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
                    }
                    #expect(try await vigil("run", "watch-soft").status == 0)
                    try await waitFor(1)
                    #expect(try await vigil("run", "watch-hard").status == 0)
                    try await waitFor(2)
                    let alert = try #require(try await AlertStore(database: database).list(model: "churn", since: nil, limit: 5).first)
                    #expect(try await vigil("alerts", "ack", String(alert.id), "--reason", "looking", "--as", "alice").status == 0)
                    try await waitFor(3)
                    #expect(try await vigil("alerts", "resolve", String(alert.id), "--reason", "fixed", "--as", "alice").status == 0)
                    try await waitFor(4)
                    // Give a duplicate, if one were coming, its chance.
                    let outbox = NotificationOutbox(database: database)
                    let settled = ContinuousClock.now + .seconds(60)
                    while try await outbox.backlog(now: Date()).pending > 0 && ContinuousClock.now < settled { try await Task.sleep(for: .milliseconds(100)) }

                    let lifecycle = ["trigger", "escalate", "acknowledge", "resolve"]
                    let mails = try mail.messages()
                    #expect(mails.map { $0["x-vigil-event"] ?? "" } == lifecycle, "\(mails.map { $0["x-vigil-event"] ?? "" })")
                    #expect(mails.allSatisfy { $0["tls"] == "true" && $0["login"] == "vigil" && $0["rcpt_tos"] == "oncall@example.com" })
                    let sent = try requests()
                    for prefix in ["/teams", "/og", "/dd"] {
                        let events = sent.filter { $0["path"]?.hasPrefix(prefix) == true }.map { $0["event"] ?? "" }
                        #expect(events == lifecycle, "\(prefix): \(events)")
                    }
                    let opsgenie = sent.compactMap { $0["path"] }.filter { $0.hasPrefix("/og") }
                    #expect(opsgenie == ["/og/v2/alerts", "/og/v2/alerts", "/og/v2/alerts/vigil-alert-\(alert.id)/acknowledge?identifierType=alias",
                                         "/og/v2/alerts/vigil-alert-\(alert.id)/close?identifierType=alias"], "\(opsgenie)")
                    #expect(sent.filter { $0["path"]?.hasPrefix("/og") == true }.allSatisfy { $0["authorization"] == "GenieKey genie" })
                    #expect(sent.filter { $0["path"] == "/dd" }.allSatisfy { $0["dd_api_key"] == "dd" })
                }
            }
        }
    }
}
