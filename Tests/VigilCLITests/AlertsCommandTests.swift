import Foundation
import Testing
import VigilStore
import VigilTesting

@Suite("vigil alerts")
struct AlertsCommandTests {
    @Test("people list, show, acknowledge, silence, resolve and mark alerts; each action is recorded with who and why")
    func actions() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            func vigil(_ arguments: String...) async throws -> VigilProcess.Output {
                try await VigilProcess.run(arguments + ["--database-url", url], environment: environment)
            }
            let store = AlertStore(database: database)
            let churn = try await store.raise(
                AlertFinding(model: "churn", rule: "churn-drift", severity: .hard, details: ["reasons": .array([.string("drift share 0.5 ≥ 0.4")])]),
                idempotencyKey: nil, runID: nil, actor: "workflow:watch", now: Date()
            ).alert
            let fraud = try await store.raise(AlertFinding(model: "fraud", rule: "fraud-drift", severity: .soft), idempotencyKey: nil, runID: nil, actor: "workflow:f", now: Date()).alert

            let list = try await vigil("alerts", "list", "--model", "churn")
            #expect(list.status == 0, "\(list.standardError)")
            #expect(list.standardOutput.contains("churn-drift") && !list.standardOutput.contains("fraud-drift"))
            #expect(list.standardOutput.contains("drift share 0.5 ≥ 0.4"))

            let ack = try await vigil("alerts", "ack", String(churn.id), "--reason", "on it", "--as", "alice")
            #expect(ack.status == 0 && ack.standardOutput.hasPrefix("alert \(churn.id): acknowledged"), "\(ack.standardError)")
            let twice = try await vigil("alerts", "ack", String(churn.id), "--reason", "me too", "--as", "bob")
            #expect(twice.status != 0 && twice.standardError == "vigil: error: alert \(churn.id) was already acknowledged by alice\n")

            let silence = try await vigil("alerts", "silence", "--model", "fraud", "--for", "2h", "--reason", "planned backfill", "--as", "carol")
            #expect(silence.status == 0 && silence.standardOutput.contains("silenced open alert \(fraud.id)"), "\(silence.standardError)")
            let badDuration = try await vigil("alerts", "silence", "--model", "fraud", "--for", "soon", "--reason", "x")
            #expect(badDuration.status != 0 && badDuration.standardError.contains("--for must be a duration from 1s to 36500d, such as 30m or 2h"))

            let falsePositive = try await vigil("alerts", "false-positive", String(fraud.id), "--reason", "a holiday", "--as", "dave")
            #expect(falsePositive.status == 0 && falsePositive.standardOutput.hasPrefix("alert \(fraud.id): resolved (false positive)"))
            let resolve = try await vigil("alerts", "resolve", String(churn.id), "--reason", "retrained by hand", "--as", "erin")
            #expect(resolve.status == 0)
            let again = try await vigil("alerts", "resolve", String(churn.id), "--reason", "again")
            #expect(again.status != 0 && again.standardError == "vigil: error: alert \(churn.id) was already resolved by erin\n")
            let missing = try await vigil("alerts", "show", "999")
            #expect(missing.status != 0 && missing.standardError.contains("no alert 999"))

            let show = try await vigil("alerts", "show", String(churn.id))
            #expect(show.status == 0)
            for line in ["acknowledged by alice at", "resolved by erin at", "acknowledged  on it", "resolved      retrained by hand"] {
                #expect(show.standardOutput.contains(line), "missing '\(line)' in\n\(show.standardOutput)")
            }
            let json = try await vigil("alerts", "list", "--state", "resolved", "--format", "json")
            let rows = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]] ?? []
            #expect(rows.count == 2 && rows.contains { $0["false_positive"] as? Bool == true && $0["model"] as? String == "fraud" })
            let history = try await store.events(ofAlert: fraud.id).map { "\($0.actor) \($0.action)" }
            #expect(history == ["workflow:f raised", "carol silenced", "dave false_positive", "dave resolved"])
        }
    }
}
