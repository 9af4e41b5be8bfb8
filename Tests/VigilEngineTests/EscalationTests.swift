import Crypto
import Foundation
import Testing
import VigilEngine
import VigilStore
import VigilTesting
import VigilWorkflow

/// Fixtures for escalation: a model window with known drift, a watch workflow, channels.
enum EscalationFixtures {
    /// One computed window of model `churn` in which `tenure_months` (0.31) and `order_amount`
    /// (0.12) drifted and `plan` (0.01) did not.
    static func insertDriftedWindow(_ database: Database) async throws {
        try await MetricRowsFixture.window("churn", start: Date(timeIntervalSince1970: 1_764_000_000),
                                           drift: [("tenure_months", 0.31), ("order_amount", 0.12), ("plan", 0.01)], in: database)
    }

    /// A workflow of model `churn` whose one step escalates with `severity`.
    static func watch(name: String = "watch", severity: String = "hard", channels: String, extra: String = "", retry: Int = 1) -> String {
        """
        name: \(name)
        model: churn
        steps:
          escalate:
            uses: escalate
            retry: \(retry)
            with:
              severity: \(severity)
              reasons: ["drift share 0.67 ≥ 0.4", "feature tenure_months drifted"]
              channels: \(channels)
        \(extra.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
        """
    }

    static func registry(_ channels: ChannelDirectory) -> StepRegistry {
        var registry = EngineFixtures.registry
        registry.register(EscalateStep(channels: channels))
        return registry
    }

    static func channel(_ name: String, _ kind: ChannelConfiguration.Kind, _ url: String, secret: String? = nil,
                        timeout: TimeInterval = 5, attempts: Int = 4) -> (String, ChannelConfiguration) {
        (name, ChannelConfiguration(name: name, kind: kind, url: url, secret: secret, timeout: timeout, attempts: attempts, backoff: 0.05))
    }

    /// Starts a run of `workflow`, runs workers until it ends, and returns it with its steps.
    static func run(_ workflow: String, in database: Database, channels: ChannelDirectory) async throws -> (RunSummary, [String: StepRecord]) {
        let id = try await RunLauncher(database: database).start(workflow, trigger: .init(kind: .manual, actor: "t")).runID
        // These workflows say `retry: 1`, and a lost lease counts as an attempt: a lease long enough
        // that a loaded machine cannot lose it by accident.
        let run = try await EngineFixtures.withWorkers(database, configuration: EngineFixtures.workerConfiguration(lease: 15), registry: registry(channels)) {
            try await EngineFixtures.waitForRun(id, in: database)
        }
        let steps = try await RunStore(database: database).steps(ofRun: id)
        return (run, Dictionary(uniqueKeysWithValues: steps.map { ($0.name, $0) }))
    }

    /// Runs `Fixtures/payload-schemas/check_payloads.py` on `payloads` (`kind` and `body` each)
    /// with the Python that has jsonschema_rs (schemathesis's venv, which `scripts/test` makes).
    static func checkAgainstSchemas(_ payloads: [[String: String]]) async throws -> (status: Int32, output: String) {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let python = ProcessInfo.processInfo.environment["VIGIL_SCHEMATHESIS_PYTHON"]
            ?? here.appendingPathComponent("../../.build/schemathesis/bin/python").standardized.path
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-payloads-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        let lines = try payloads.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        return try await runCollectingOutput(python, [here.appendingPathComponent("Fixtures/payload-schemas/check_payloads.py").path, file.path])
    }

    static func json(_ text: String?) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data((text ?? "").utf8))) as? [String: Any] ?? [:]
    }
}

@Suite("Escalation: alerts, channels, and alerts that start workflows", .timeLimit(.minutes(3)))
struct EscalationTests {
    @Test("Slack, PagerDuty and webhook payloads carry the alert field by field; the webhook's HMAC verifies; resolution reaches every channel")
    func channelPayloads() async throws {
        try await withReceiver { base, requests in
            try await TestDatabase.withFresh { database in
                let channels = ChannelDirectory(channels: Dictionary(uniqueKeysWithValues: [
                    EscalationFixtures.channel("slack", .slack, "\(base)/slack"),
                    EscalationFixtures.channel("pagerduty", .pagerduty, "\(base)/pd", secret: "R0UTING-KEY"),
                    EscalationFixtures.channel("webhook", .webhook, "\(base)/hook", secret: "s3cret"),
                ]), publicURL: "https://vigil.example.com")
                try await EscalationFixtures.insertDriftedWindow(database)
                _ = try await EngineFixtures.apply(EscalationFixtures.watch(channels: "{ soft: [slack], hard: [slack, pagerduty, webhook] }"), to: database)
                let (run, steps) = try await EscalationFixtures.run("watch", in: database, channels: channels)
                #expect(run.state == .succeeded, "\(steps["escalate"]?.error ?? "")")
                let outputs = try #require(steps["escalate"]?.outputs)
                #expect(outputs["notified"] == .array(["slack", "pagerduty", "webhook"].map(JSONValue.string)))
                let alertID = try #require(outputs["alert_id"]?.stringValue.flatMap { Int($0) })

                let sent = try requests()
                let slack = EscalationFixtures.json(sent.first { $0["path"] == "/slack" }?["body"])
                #expect((slack["text"] as? String)?.hasPrefix("Hard alert: churn-drift on model churn: drift share 0.67 ≥ 0.4") == true)
                let block = ((slack["blocks"] as? [[String: Any]])?.first?["text"] as? [String: Any])?["text"] as? String ?? ""
                #expect(block.contains("Model: `churn` · Severity: *hard*"))
                #expect(block.contains("• tenure_months: 0.310 (wasserstein_normed)\n• order_amount: 0.120 (wasserstein_normed)"))
                #expect(!block.contains("plan:"))
                #expect(block.contains("Run: <https://vigil.example.com/ui/runs/\(run.id)|run \(run.id)>"))

                let pd = EscalationFixtures.json(sent.first { $0["path"] == "/pd" }?["body"])
                #expect(pd["routing_key"] as? String == "R0UTING-KEY")
                #expect(pd["event_action"] as? String == "trigger")
                #expect(pd["dedup_key"] as? String == "vigil-alert-\(alertID)")
                let payload = pd["payload"] as? [String: Any] ?? [:]
                #expect(payload["severity"] as? String == "critical")
                #expect(payload["source"] as? String == "vigil/churn")
                #expect(payload["component"] as? String == "churn")
                #expect(payload["group"] as? String == "churn-drift")
                let details = payload["custom_details"] as? [String: Any] ?? [:]
                let drifted = details["drifted_features"] as? [[String: Any]] ?? []
                #expect(drifted.first?["feature"] as? String == "tenure_months" && drifted.first?["score"] as? Double == 0.31)
                #expect(details["run"] as? Double == Double(run.id))
                #expect((pd["links"] as? [[String: Any]])?.first?["href"] as? String == "https://vigil.example.com/ui/runs/\(run.id)")

                let hook = try #require(sent.first { $0["path"] == "/hook" })
                let body = Data(try #require(hook["body"]).utf8)
                let expected = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data("s3cret".utf8)))
                #expect(hook["signature"] == "sha256=" + expected.map { String(format: "%02x", $0) }.joined())
                #expect(hook["event"] == "trigger" && hook["content_type"] == "application/json")
                #expect(hook["idempotency_key"] == "vigil-\(alertID)/webhook/trigger")
                let event = EscalationFixtures.json(hook["body"])
                let alert = event["alert"] as? [String: Any] ?? [:]
                #expect(event["event"] as? String == "trigger")
                #expect(alert["model"] as? String == "churn" && alert["severity"] as? String == "hard" && alert["state"] as? String == "firing")
                #expect(alert["url"] as? String == "https://vigil.example.com/ui/alerts/\(alertID)")

                // Secrets never reach the run's outputs or log.
                let logs = try await RunStore(database: database).logs(ofRun: run.id, step: "escalate").map(\.line).joined(separator: "\n")
                for secret in ["R0UTING-KEY", "s3cret", "/pd", "/hook"] {
                    #expect(!logs.contains(secret) && !"\(outputs)".contains(secret), "\(secret) leaked")
                }

                // Resolution: every channel that heard of the alert hears it is over.
                try await AlertStore(database: database).resolve(alertID, actor: "alice", reason: "fixed upstream", now: Date())
                let deliveries = try await AlertNotifier(database: database, channels: channels, logger: EngineFixtures.logger).deliverPending(alertID: alertID)
                #expect(deliveries.map(\.state) == [.delivered, .delivered, .delivered])
                let after = try requests()
                let resolvedPD = EscalationFixtures.json(after.last { $0["path"] == "/pd" }?["body"])
                #expect(resolvedPD["event_action"] as? String == "resolve" && resolvedPD["dedup_key"] as? String == "vigil-alert-\(alertID)")
                #expect(resolvedPD["payload"] == nil)
                #expect((EscalationFixtures.json(after.last { $0["path"] == "/slack" }?["body"])["text"] as? String) == "Resolved: churn-drift on model churn: fixed upstream")
                #expect(after.last { $0["path"] == "/hook" }?["event"] == "resolve")
            }
        }
    }

    @Test("Teams gets an Adaptive Card; Opsgenie an alert created, acknowledged and closed by its alias; Datadog alert events under one aggregation key")
    func teamsAndOpsgenie() async throws {
        try await withReceiver { base, requests in
            try await TestDatabase.withFresh { database in
                let channels = ChannelDirectory(channels: Dictionary(uniqueKeysWithValues: [
                    EscalationFixtures.channel("teams", .teams, "\(base)/teams"),
                    EscalationFixtures.channel("opsgenie", .opsgenie, "\(base)/og/", secret: "GENIE-KEY"),
                    EscalationFixtures.channel("datadog", .datadog, "\(base)/dd", secret: "DD-KEY"),
                ]), publicURL: "https://vigil.example.com")
                try await EscalationFixtures.insertDriftedWindow(database)
                _ = try await EngineFixtures.apply(EscalationFixtures.watch(channels: "{ soft: [teams], hard: [teams, opsgenie, datadog] }"), to: database)
                let (run, steps) = try await EscalationFixtures.run("watch", in: database, channels: channels)
                #expect(run.state == .succeeded, "\(steps["escalate"]?.error ?? "")")
                let alertID = try #require(steps["escalate"]?.outputs?["alert_id"]?.stringValue.flatMap { Int($0) })

                let sent = try requests()
                let teams = EscalationFixtures.json(sent.first { $0["path"] == "/teams" }?["body"])
                #expect(teams["type"] as? String == "message")
                let attachment = (teams["attachments"] as? [[String: Any]])?.first ?? [:]
                #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
                let card = attachment["content"] as? [String: Any] ?? [:]
                #expect(card["type"] as? String == "AdaptiveCard" && card["version"] as? String == "1.4")
                let body = card["body"] as? [[String: Any]] ?? []
                #expect((body.first?["text"] as? String)?.hasPrefix("Hard alert: churn-drift on model churn") == true)
                let facts = (body.first { $0["type"] as? String == "FactSet" }?["facts"] as? [[String: String]]) ?? []
                #expect(facts.contains(["title": "Model", "value": "churn"]) && facts.contains(["title": "Severity", "value": "hard"]))
                #expect(body.contains { ($0["text"] as? String)?.hasPrefix("Top drifted features: tenure_months: 0.310") == true })
                let actions = card["actions"] as? [[String: Any]] ?? []
                #expect(actions.first?["url"] as? String == "https://vigil.example.com/ui/alerts/\(alertID)")

                let create = try #require(sent.first { $0["path"] == "/og/v2/alerts" })
                #expect(create["authorization"] == "GenieKey GENIE-KEY")
                let created = EscalationFixtures.json(create["body"])
                #expect(created["alias"] as? String == "vigil-alert-\(alertID)" && created["priority"] as? String == "P1")
                #expect((created["message"] as? String)?.hasPrefix("Hard alert: churn-drift") == true && (created["message"] as? String ?? "").count <= 130)
                #expect(created["entity"] as? String == "churn" && (created["tags"] as? [String])?.contains("model:churn") == true)
                #expect((created["details"] as? [String: String])?["url"] == "https://vigil.example.com/ui/alerts/\(alertID)")

                let event = try #require(sent.first { $0["path"] == "/dd" })
                #expect(event["dd_api_key"] == "DD-KEY")
                let attributes = (EscalationFixtures.json(event["body"])["data"] as? [String: Any])?["attributes"] as? [String: Any] ?? [:]
                #expect(attributes["category"] as? String == "alert" && attributes["aggregation_key"] as? String == "vigil-alert-\(alertID)")
                #expect((attributes["title"] as? String)?.hasPrefix("Hard alert: churn-drift") == true)
                #expect((attributes["tags"] as? [String])?.contains("model:churn") == true)
                let alertAttributes = attributes["attributes"] as? [String: Any] ?? [:]
                #expect(alertAttributes["status"] as? String == "error" && alertAttributes["priority"] as? String == "1")

                let notifier = AlertNotifier(database: database, channels: channels, logger: EngineFixtures.logger)
                _ = try await AlertStore(database: database).acknowledge(alertID, actor: "alice", reason: "looking", now: Date())
                #expect(try await notifier.deliverPending(alertID: alertID).allSatisfy { $0.state == .delivered })
                _ = try await AlertStore(database: database).resolve(alertID, actor: "alice", reason: "fixed upstream", now: Date())
                #expect(try await notifier.deliverPending(alertID: alertID).allSatisfy { $0.state == .delivered })
                let after = try requests()
                let paths = after.compactMap { $0["path"] }.filter { $0.hasPrefix("/og/") }
                #expect(paths == ["/og/v2/alerts", "/og/v2/alerts/vigil-alert-\(alertID)/acknowledge?identifierType=alias",
                                  "/og/v2/alerts/vigil-alert-\(alertID)/close?identifierType=alias"], "\(paths)")
                let acknowledged = EscalationFixtures.json(after.first { $0["path"]?.hasSuffix("/acknowledge?identifierType=alias") == true }?["body"])
                #expect(acknowledged["user"] as? String == "alice")
                let datadogStatuses = after.filter { $0["path"] == "/dd" }.map { record in
                    (((EscalationFixtures.json(record["body"])["data"] as? [String: Any])?["attributes"] as? [String: Any])?["attributes"] as? [String: Any])?["status"] as? String
                }
                #expect(datadogStatuses == ["error", "error", "ok"], "\(datadogStatuses)")
                let closedCard = EscalationFixtures.json(after.last { $0["path"] == "/teams" }?["body"])
                let closedBody = (((closedCard["attachments"] as? [[String: Any]])?.first?["content"] as? [String: Any])?["body"] as? [[String: Any]]) ?? []
                #expect(closedBody.first?["text"] as? String == "Resolved: churn-drift on model churn")
                #expect(closedBody.contains { $0["text"] as? String == "Resolution: fixed upstream" })

                // Every payload against the receivers' published schemas (Fixtures/payload-schemas).
                let payloads = after.compactMap { request -> [String: String]? in
                    let path = request["path"] ?? ""
                    let kind = path == "/teams" ? "teams" : path == "/dd" ? "datadog" : path == "/og/v2/alerts" ? "opsgenie-create" : path.hasPrefix("/og/") ? "opsgenie-action" : nil
                    return kind.map { ["kind": $0, "body": request["body"] ?? ""] }
                }
                #expect(payloads.count >= 9, "\(payloads.map { $0["kind"] ?? "" })")
                let checked = try await EscalationFixtures.checkAgainstSchemas(payloads)
                #expect(checked.status == 0, "\(checked.output)")
                #expect(checked.output.contains("\(payloads.count + payloads.filter { $0["kind"] == "teams" }.count) payloads checked, 0 problems"), "\(checked.output)")
            }
        }
    }

    @Test("a receiver answering 500 twice then 200 gets one delivered notification; one that never answers stays queued for a later round and the alert records it")
    func retriesAndFailures() async throws {
        try await withReceiver { base, requests in
            try await TestDatabase.withFresh { database in
                let channels = ChannelDirectory(channels: Dictionary(uniqueKeysWithValues: [
                    EscalationFixtures.channel("flaky", .webhook, "\(base)/flaky"),
                    EscalationFixtures.channel("silent", .webhook, "\(base)/hang", timeout: 0.5, attempts: 2),
                ]))
                _ = try await EngineFixtures.apply(EscalationFixtures.watch(channels: "{ hard: [flaky] }"), to: database)
                let (run, steps) = try await EscalationFixtures.run("watch", in: database, channels: channels)
                #expect(run.state == .succeeded, "\(steps["escalate"]?.error ?? "")")
                let flaky = try requests().filter { $0["path"] == "/flaky" }
                #expect(flaky.count == 3)
                #expect(Set(flaky.map { $0["idempotency_key"] ?? "" }).count == 1)
                let alertID = try #require(steps["escalate"]?.outputs?["alert_id"]?.stringValue.flatMap { Int($0) })
                let outbox = NotificationOutbox(database: database)
                let delivered = try await outbox.notifications(ofAlert: alertID)
                #expect(delivered.map(\.state) == [.delivered] && delivered.first?.attempts == 3 && delivered.first?.lastStatus == 200)

                // The same step attempt reporting again (a retry after a crash) changes nothing and sends nothing.
                let store = AlertStore(database: database)
                let replay = try await store.raise(
                    AlertFinding(model: "churn", rule: "churn-drift", severity: .hard, channels: ["flaky"]),
                    idempotencyKey: steps["escalate"]!.idempotencyKey, runID: run.id, actor: "t", now: Date()
                )
                #expect(replay.replayed && replay.alert.occurrences == 1 && replay.queued.isEmpty)
                #expect(try await AlertNotifier(database: database, channels: channels, logger: EngineFixtures.logger).deliverPending(alertID: alertID).isEmpty)
                #expect(try requests().filter { $0["path"] == "/flaky" }.count == 3)

                _ = try await EngineFixtures.apply(EscalationFixtures.watch(name: "quiet", channels: "{ hard: [silent] }", extra: "alert: silent-drift"), to: database)
                let (quiet, quietSteps) = try await EscalationFixtures.run("quiet", in: database, channels: channels)
                // The alert is raised and its page queued: the outbox, not the step, owns the redelivery.
                #expect(quiet.state == .succeeded, "\(quietSteps["escalate"]?.error ?? "")")
                #expect(quietSteps["escalate"]?.outputs?["undelivered"] == .array([.string("silent")]))
                let silent = try #require(try await store.list(model: "churn").first { $0.rule == "silent-drift" })
                let record = try #require(try await outbox.notifications(ofAlert: silent.id).first)
                #expect(record.state == .pending && record.attempts == 2 && record.nextAttemptAt != nil)
                let error = record.lastError ?? ""
                #expect(error.contains("silent (webhook at http://127.0.0.1:") && error.contains("did not answer: timed out (2 attempts this round)"), "\(error)")
                #expect(!error.contains("/hang"))
                #expect(try await store.events(ofAlert: silent.id).contains { $0.action == "delivery_retrying" && $0.reason?.contains("timed out") == true })
            }
        }
    }

    @Test("fifty identical hard findings within a minute: one open alert, one page, one workflow run")
    func alertStorm() async throws {
        try await withReceiver { base, requests in
            try await TestDatabase.withFresh { database in
                let channels = ChannelDirectory(channels: Dictionary(uniqueKeysWithValues: [EscalationFixtures.channel("pagerduty", .pagerduty, "\(base)/pd", secret: "k")]))
                _ = try await EngineFixtures.apply(EscalationFixtures.watch(channels: "{ hard: [pagerduty] }", extra: "renotify_after: 1h\nquiet_period: 6h"), to: database)
                _ = try await EngineFixtures.apply("""
                    name: retrain
                    model: churn
                    triggers:
                      - alert: churn-drift
                        labels: { severity: hard }
                    steps:
                      train: { uses: record }
                    """, to: database)
                try await EngineFixtures.createSideEffects(database)
                let launcher = RunLauncher(database: database)
                var started: [Int] = []
                for _ in 0..<50 { started.append(try await launcher.start("watch", trigger: .init(kind: .manual, actor: "t")).runID) }
                let ids = started
                let runs = try await EngineFixtures.withWorkers(database, count: 2, configuration: EngineFixtures.workerConfiguration(lease: 15), registry: EscalationFixtures.registry(channels)) {
                    var runs: [RunSummary] = []
                    for id in ids { runs.append(try await EngineFixtures.waitForRun(id, in: database, timeout: .seconds(60))) }
                    let retrains = try await RunStore(database: database).list(workflow: "retrain", state: nil, limit: 10)
                    for retrain in retrains { _ = try await EngineFixtures.waitForRun(retrain.id, in: database) }
                    return runs
                }
                #expect(runs.allSatisfy { $0.state == .succeeded })
                let alerts = try await AlertStore(database: database).list(model: "churn")
                #expect(alerts.count == 1)
                #expect(alerts.first?.occurrences == 50 && alerts.first?.state == .firing)
                #expect(try requests().filter { $0["path"] == "/pd" }.count == 1)
                let retrains = try await RunStore(database: database).list(workflow: "retrain", state: nil, limit: 10)
                #expect(retrains.count == 1)
                #expect(retrains.first?.trigger.fingerprint == alerts.first?.fingerprint)
                #expect(try await AlertStore(database: database).runs(ofAlert: alerts[0].id).map(\.runID) == retrains.map(\.id))
            }
        }
    }

    @Test("a quiet period holds within a severity: a hard alert inside a soft notification's quiet period still pages; a soft one inside a hard page's is quieted")
    func quietWithinSeverity() async throws {
        try await TestDatabase.withFresh { database in
            let store = AlertStore(database: database)
            let start = Date(timeIntervalSince1970: 1_764_000_000)
            func at(_ minutes: Double) -> Date { start.addingTimeInterval(minutes * 60) }
            func finding(_ severity: AlertSeverity) -> AlertFinding {
                AlertFinding(model: "churn", rule: "churn-drift", severity: severity, details: ["reasons": .array([.string("\(severity) rule")])],
                             channels: severity == .hard ? ["pagerduty"] : ["slack"], quietPeriod: 6 * 3_600)
            }
            let soft = try await store.raise(finding(.soft), idempotencyKey: "s1", runID: nil, actor: "workflow:watch", now: at(0))
            #expect(soft.queued == ["slack"])
            _ = try await store.resolve(soft.alert.id, actor: "alice", reason: "recovered", now: at(10))
            // An hour later, within the soft notification's six quiet hours, the same rule fires hard.
            let hard = try await store.raise(finding(.hard), idempotencyKey: "h1", runID: nil, actor: "workflow:watch", now: at(60))
            let hardEvents = try await store.events(ofAlert: hard.alert.id).map(\.action)
            #expect(hard.opened && hard.queued == ["pagerduty"] && hardEvents == ["raised"], "the hard page was quieted: \(hardEvents)")
            _ = try await store.resolve(hard.alert.id, actor: "alice", reason: "fixed", now: at(70))
            // A soft finding within the hard page's quiet period is quieted; so is another hard one.
            let softAgain = try await store.raise(finding(.soft), idempotencyKey: "s2", runID: nil, actor: "workflow:watch", now: at(80))
            let softEvents = try await store.events(ofAlert: softAgain.alert.id).map(\.action)
            #expect(softAgain.queued.isEmpty && softEvents == ["raised", "quieted"])
        }
    }

    @Test("lifecycle: soft worsens to hard, renotifies until acknowledged, resolves after clear windows, quiet period, silence, false positive")
    func lifecycle() async throws {
        try await TestDatabase.withFresh { database in
            let store = AlertStore(database: database)
            let outbox = NotificationOutbox(database: database)
            let start = Date(timeIntervalSince1970: 1_764_000_000)
            func at(_ minutes: Double) -> Date { start.addingTimeInterval(minutes * 60) }
            func finding(_ severity: AlertSeverity) -> AlertFinding {
                AlertFinding(model: "churn", rule: "churn-drift", severity: severity, details: ["reasons": .array([.string("\(severity) rule")])],
                             channels: severity == .hard ? ["pagerduty"] : ["slack"], renotifyAfter: 3_600, quietPeriod: 6 * 3_600)
            }
            let soft = try await store.raise(finding(.soft), idempotencyKey: "k1", runID: nil, actor: "workflow:watch", now: at(0))
            #expect(soft.opened && soft.alert.severity == .soft && soft.queued == ["slack"] && soft.alert.renotifyAt == nil)
            let hard = try await store.raise(finding(.hard), idempotencyKey: "k2", runID: nil, actor: "workflow:watch", now: at(60))
            #expect(hard.escalated && hard.alert.id == soft.alert.id && hard.alert.severity == .hard && hard.queued == ["pagerduty"])
            #expect(hard.alert.renotifyAt == at(120))
            let again = try await store.raise(finding(.soft), idempotencyKey: "k3", runID: nil, actor: "workflow:watch", now: at(70))
            #expect(!again.escalated && again.alert.severity == .hard && again.queued.isEmpty && again.alert.occurrences == 3)

            #expect(try await outbox.queueDueRenotifications(actor: "keeper", now: at(100)).isEmpty)
            #expect(try await outbox.queueDueRenotifications(actor: "keeper", now: at(121)) == [soft.alert.id])
            #expect(try await outbox.queueDueRenotifications(actor: "keeper", now: at(122)).isEmpty)
            try await store.acknowledge(soft.alert.id, actor: "alice", reason: "looking into it", now: at(130))
            await #expect(throws: StoreError.self) { try await store.acknowledge(soft.alert.id, actor: "bob", reason: "me too", now: at(131)) }
            #expect(try await outbox.queueDueRenotifications(actor: "keeper", now: at(400)).isEmpty)

            #expect(try await store.clear(fingerprint: hard.alert.fingerprint, window: "w1", actor: "workflow:watch", now: at(180))?.clearWindows == 1)
            #expect(try await store.clear(fingerprint: hard.alert.fingerprint, window: "w1", actor: "workflow:watch", now: at(181))?.clearWindows == 1)
            #expect(try await store.clear(fingerprint: hard.alert.fingerprint, window: "w2", actor: "workflow:watch", now: at(240))?.state == .acknowledged)
            let resolved = try await store.clear(fingerprint: hard.alert.fingerprint, window: "w3", actor: "workflow:watch", now: at(300))
            #expect(resolved?.state == .resolved && resolved?.resolution == "condition clear for 3 consecutive windows")
            let sent = try await outbox.notifications(ofAlert: soft.alert.id).map { "\($0.kind.rawValue)→\($0.channel)" }
            #expect(sent == ["trigger→slack", "escalate→pagerduty", "renotify→pagerduty", "acknowledge→pagerduty", "acknowledge→slack", "resolve→pagerduty", "resolve→slack"])

            // Firing again within the quiet period opens a new alert but notifies no one.
            let reopened = try await store.raise(finding(.hard), idempotencyKey: "k4", runID: nil, actor: "workflow:watch", now: at(320))
            #expect(reopened.opened && reopened.alert.id != soft.alert.id && reopened.queued.isEmpty)
            #expect(try await store.events(ofAlert: reopened.alert.id).map(\.action) == ["raised", "quieted"])

            // A silence stops paging; once it ends, the next finding notifies again.
            let (_, silenced) = try await store.silence(model: "churn", rule: nil, for: 7_200, actor: "carol", reason: "planned migration", now: at(330))
            #expect(silenced == [reopened.alert.id])
            let during = try await store.raise(finding(.hard), idempotencyKey: "k5", runID: nil, actor: "workflow:watch", now: at(400))
            #expect(during.alert.state == .silenced && during.queued.isEmpty)
            let after = try await store.raise(finding(.hard), idempotencyKey: "k6", runID: nil, actor: "workflow:watch", now: at(1_000))
            #expect(after.alert.state == .firing && after.queued == ["pagerduty"])

            let marked = try await store.markFalsePositive(reopened.alert.id, actor: "dave", reason: "a holiday, not drift", now: at(1_010))
            #expect(marked.falsePositive && marked.state == .resolved && marked.resolvedBy == "dave")
            let history = try await store.events(ofAlert: reopened.alert.id)
            #expect(history.map(\.action) == ["raised", "quieted", "silenced", "fired_again", "fired_again", "unsilenced", "false_positive", "resolved"])
            #expect(history.first { $0.action == "silenced" }?.actor == "carol" && history.first { $0.action == "silenced" }?.reason == "planned migration")
            #expect(history.first { $0.action == "false_positive" }?.actor == "dave")
            let first = try await store.events(ofAlert: soft.alert.id)
            #expect(first.first { $0.action == "acknowledged" }.map { ($0.actor, $0.reason) } ?? ("", nil) == ("alice", "looking into it"))
        }
    }

    @Test("the run an alert started: a promotion resolves the alert and tells its channels; a failure leaves it open saying why")
    func runOutcomes() async throws {
        try await withReceiver { base, requests in
            try await TestDatabase.withFresh { database in
                let channels = ChannelDirectory(channels: Dictionary(uniqueKeysWithValues: [EscalationFixtures.channel("hook", .webhook, "\(base)/hook")]))
                _ = try await EngineFixtures.apply("""
                    name: retrain
                    triggers: [{ alert: churn-drift }]
                    steps:
                      promote: { uses: promote_stub }
                    """, to: database)
                _ = try await EngineFixtures.apply("""
                    name: broken-retrain
                    triggers: [{ alert: fraud-drift }]
                    steps:
                      train: { uses: flaky, with: { failures: 5 } }
                    """, to: database)
                let store = AlertStore(database: database)
                let notifier = AlertNotifier(database: database, channels: channels, logger: EngineFixtures.logger)
                let churn = try await store.raise(AlertFinding(model: "churn", rule: "churn-drift", severity: .hard, channels: ["hook"]),
                                                  idempotencyKey: nil, runID: nil, actor: "t", now: Date())
                let fraud = try await store.raise(AlertFinding(model: "fraud", rule: "fraud-drift", severity: .hard, channels: ["hook"]),
                                                  idempotencyKey: nil, runID: nil, actor: "t", now: Date())
                try await notifier.deliverPending()
                let starter = AlertRunStarter(database: database)
                let promoted = try #require(try await starter.startRuns(for: churn.alert, actor: "t").first?.creation.runID)
                let broken = try #require(try await starter.startRuns(for: fraud.alert, actor: "t").first?.creation.runID)
                // Firing again starts nothing new: one incident, one run.
                #expect(try await starter.startRuns(for: churn.alert, actor: "t").first?.creation == .existing(promoted))
                _ = try await EngineFixtures.withWorkers(database, configuration: EngineFixtures.workerConfiguration(lease: 15), registry: EscalationFixtures.registry(channels)) {
                    _ = try await EngineFixtures.waitForRun(promoted, in: database)
                    return try await EngineFixtures.waitForRun(broken, in: database)
                }
                try await AlertKeeper(database: database, channels: channels, logger: EngineFixtures.logger).tick()
                let closed = try await store.alert(churn.alert.id)
                #expect(closed.state == .resolved && closed.resolution == "retrain run \(promoted) promoted a new model version 2 that passed its guards")
                let open = try await store.alert(fraud.alert.id)
                #expect(open.state == .firing)
                #expect(open.statusReason?.hasPrefix("broken-retrain run \(broken) failed:") == true, "\(open.statusReason ?? "")")
                #expect(try await store.runs(ofAlert: fraud.alert.id).map(\.outcome) == ["failed"])
                let hooks = try requests().filter { $0["path"] == "/hook" }.map { $0["event"] ?? "" }
                #expect(hooks.sorted() == ["resolve", "trigger", "trigger"])
                let lineage = try await LineageStore(database: database).graph(around: LineageNode(kind: "run", id: String(promoted)))
                #expect(lineage.upstream.contains { $0.from == LineageNode(kind: "alert", id: String(churn.alert.id)) })
            }
        }
    }
}

/// `promote_stub`: reports a promotion, as the promote step does when every guard passed.
struct PromoteStub: WorkflowStep {
    struct Parameters: Decodable, Sendable {}
    static let schema = StepSchema(typeName: "promote_stub", summary: "Report a promotion.", outputs: [.init("promoted", .boolean), .init("version", .integer)])

    func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        .completed(["promoted": .bool(true), "version": .number(2)])
    }
}

@Suite("Channel configuration")
struct ChannelConfigurationTests {
    static func load(_ yaml: String, environment: [String: String] = [:]) throws -> ChannelDirectory {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-channels-\(UUID().uuidString).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        return try ChannelDirectory.load(environment: environment, file: file.path)
    }

    /// The error loading `yaml` gives, with the file's path shortened to `channels.yaml`.
    static func problem(_ yaml: String) -> String? {
        do {
            _ = try load(yaml)
            return nil
        } catch {
            return "\(error)".replacing(#/^/[^:]*\.yaml/#, with: "channels.yaml")
        }
    }

    @Test("a channels file names receivers, takes secrets from the environment, and environment shortcuts fill in the rest")
    func loads() throws {
        let directory = try Self.load("""
            public_url: https://vigil.example.com
            channels:
              pagerduty: { type: pagerduty, routing_key: "${PD_KEY}" }
              risk-hook: { type: webhook, url: "https://hooks.example.com/${HOOK_PATH}", secret: "${HOOK_SECRET}", timeout: 3s, attempts: 2, backoff: 250ms }
              datadog: { type: datadog, api_key: "${PD_KEY}", site: datadoghq.eu }
              opsgenie: { type: opsgenie, api_key: "${PD_KEY}" }
              mail: { type: email, url: "smtp://mail.example.com", from: vigil@example.com, to: [risk@example.com, ops@example.com], username: vigil, password: "${PD_KEY}" }
              relay: { type: email, url: "smtps://relay.example.com:2465", from: vigil@example.com, to: risk@example.com }
            routing_webhook: { url: https://serving.example.com/routing, secret: "${HOOK_SECRET}", max_age: 1h }
            """, environment: ["PD_KEY": "pd-123", "HOOK_PATH": "abc", "HOOK_SECRET": "s", "VIGIL_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X"])
        #expect(directory.publicURL == "https://vigil.example.com")
        #expect(directory["pagerduty"]?.secret == "pd-123" && directory["pagerduty"]?.url == ChannelConfiguration.pagerDutyEventsURL)
        #expect(directory["datadog"]?.url == "https://api.datadoghq.eu/api/v2/events" && directory["datadog"]?.secret == "pd-123")
        #expect(directory["opsgenie"]?.url == "https://api.opsgenie.com" && directory["opsgenie"]?.kind == .opsgenie)
        #expect(directory["mail"]?.mail == MailSettings(host: "mail.example.com", port: 587, security: .starttls, from: "vigil@example.com",
                                                        recipients: ["risk@example.com", "ops@example.com"], username: "vigil"))
        #expect(directory["mail"]?.secret == "pd-123")
        #expect(directory["relay"]?.mail == MailSettings(host: "relay.example.com", port: 2465, security: .tls, from: "vigil@example.com", recipients: ["risk@example.com"]))
        let hook = try #require(directory["risk-hook"])
        #expect(hook.url == "https://hooks.example.com/abc" && hook.timeout == 3 && hook.attempts == 2 && hook.backoff == 0.25)
        #expect(hook.redactedURL == "https://hooks.example.com/…")
        #expect(directory["slack"]?.kind == .slack && directory["slack"]?.redactedURL == "https://hooks.slack.com/…")
        let routing = try #require(directory.routing)
        #expect(routing.kind == .webhook && routing.url == "https://serving.example.com/routing" && routing.secret == "s" && routing.delivery.maximumAge == 3_600)
        let fromEnvironment = try ChannelDirectory.load(environment: ["VIGIL_ROUTING_WEBHOOK_URL": "https://serving.example.com/r", "VIGIL_ROUTING_WEBHOOK_SECRET": "k"])
        #expect(fromEnvironment.routing?.url == "https://serving.example.com/r" && fromEnvironment.routing?.secret == "k")
    }

    @Test("a bad channels file is refused with file:line:column and the reason")
    func refuses() throws {
        let cases: [(String, String)] = [
            ("channels:\n  slack: { type: sms, url: https://x }\n", "channels.yaml:2:18: channel 'slack' has unknown type 'sms' (expected alertmanager, pagerduty, slack, webhook, teams, opsgenie, datadog, email)"),
            ("channels:\n  hook: { type: webhook, url: \"${MISSING}\" }\n", "channels.yaml:2:31: `url` refers to ${MISSING}, which is not set in the environment"),
            ("channels:\n  hook: { type: webhook, url: ftp://x }\n", "channels.yaml:2:31: channel 'hook' needs an http or https `url`"),
            ("channels:\n  pd: { type: pagerduty }\n", "channels.yaml:2:7: channel 'pd' needs `routing_key` (the PagerDuty integration key)"),
            ("channels:\n  hook: { type: webhook, url: https://x, retries: 3 }\n", "channels.yaml:2:42: unknown key 'retries' in channel 'hook' (expected type, url, secret, routing_key, api_key, site, timeout, attempts, backoff, retry_delay, max_retry_delay, max_age, refresh, from, to, username, password, tls, ca_file)"),
            ("channels:\n  hook: { type: webhook, url: https://x, refresh: 1m }\n", "channels.yaml:2:51: `refresh` is for alertmanager channels (channel 'hook' is webhook)"),
            ("channels:\n  mail: { type: email, url: https://x, from: a@b.c, to: d@e.f }\n", "channels.yaml:2:29: channel 'mail' needs an smtp:// or smtps:// `url`"),
            ("channels:\n  mail: { type: email, url: smtp://x, from: a@b.c }\n", "channels.yaml:2:9: channel 'mail' needs `to` (one address or a list)"),
            ("channels:\n  mail: { type: email, url: smtp://x, from: a@b.c, to: [\"d@e.f>, x@y.z\"] }\n", "channels.yaml:2:57: `to` must hold plain addresses such as alerts@example.com (got 'd@e.f>, x@y.z')"),
            ("channels:\n  mail: { type: email, url: smtp://x, from: a@b.c, to: d@e.f, tls: none, username: u, password: p }\n", "channels.yaml:2:68: channel 'mail' sends a password, so it needs `tls: starttls` or `tls`, not `none`"),
            ("channels:\n  hook: { type: webhook, url: https://x, to: d@e.f }\n", "channels.yaml:2:46: `to` is for email channels (channel 'hook' is webhook)"),
            ("chanels: {}\n", "channels.yaml:1:1: unknown key 'chanels' (expected public_url, channels, routing_webhook)"),
            ("routing_webhook: { type: webhook, url: https://x }\n", "channels.yaml:1:20: unknown key 'type' in channel 'routing_webhook' (expected url, secret, routing_key, api_key, site, timeout, attempts, backoff, retry_delay, max_retry_delay, max_age, refresh)"),
        ]
        for (yaml, message) in cases {
            #expect(Self.problem(yaml) == message)
        }
    }
}
