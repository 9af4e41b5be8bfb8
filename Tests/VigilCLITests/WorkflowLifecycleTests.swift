import Foundation
import Testing
import VigilEngine
import VigilStore
import VigilTesting
import VigilWorkflow

@Suite("vigil workflows disable, enable and delete")
struct WorkflowLifecycleTests {
    @Test("a disabled workflow starts no run by hand or by trigger; delete refuses while runs are active unless --cancel-runs; history stays; every change is audited")
    func lifecycle() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            func vigil(_ arguments: String...) async throws -> VigilProcess.Output {
                try await VigilProcess.run(arguments + ["--database-url", url], environment: environment)
            }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-lifecycle-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try """
                name: retrain
                model: churn
                triggers:
                  - manual
                  - event: drift-found
                steps:
                  wait: { uses: sleep, with: { for: 1s } }
                """.write(to: folder.appendingPathComponent("retrain.yaml"), atomically: true, encoding: .utf8)
            #expect(try await vigil("apply", folder.path).status == 0)
            // A run waiting for a worker (none runs here): an active run.
            let launcher = RunLauncher(database: database)
            guard case let .created(active) = try await launcher.start("retrain", trigger: RunTrigger(kind: .manual, actor: "t")) else {
                Issue.record("no run started")
                return
            }

            let disabled = try await vigil("workflows", "disable", "retrain", "--reason", "retraining budget spent", "--as", "alice")
            #expect(disabled.status == 0 && disabled.standardOutput == "workflow retrain: enabled → disabled\n", "\(disabled.standardError)")
            let byHand = try await vigil("run", "retrain")
            #expect(byHand.status != 0 && byHand.standardError.contains("workflow 'retrain' is disabled; `vigil workflows enable retrain` lets it run again"), "\(byHand.standardError)")
            #expect(try await launcher.trigger(RunTrigger(kind: .event, name: "drift-found", actor: "t")).isEmpty)
            let token = try await TokenStore(database: database).create(principal: "ops", roles: [.operator], sensitiveModels: [], actor: "t", now: Date()).token
            let (base, server) = try await startServe(url: url, environment: environment)
            defer { kill(server.processIdentifier, SIGTERM) }
            let byAPI = try await APIClient(base: base).call("POST", "/api/v1/workflows/retrain/runs", token: token, body: "{}")
            #expect(byAPI.status == 409 && ((byAPI.json["error"] as? [String: Any])?["message"] as? String)?.contains("is disabled") == true, "\(byAPI.json)")
            let listed = try await vigil("workflows", "list")
            #expect(listed.standardOutput.contains("retrain   disabled"), "\(listed.standardOutput)")

            let enabled = try await vigil("workflows", "enable", "retrain", "--reason", "budget renewed", "--as", "alice")
            #expect(enabled.status == 0 && enabled.standardOutput == "workflow retrain: disabled → enabled\n")
            #expect(try await launcher.trigger(RunTrigger(kind: .event, name: "drift-found", actor: "t")).count == 1)

            let refused = try await vigil("workflows", "delete", "retrain", "--reason", "replaced", "--as", "bob")
            #expect(refused.status != 0 && refused.standardError.contains("workflow 'retrain' has 2 active runs (\(active), \(active + 1)); let them end, or pass --cancel-runs"),
                    "\(refused.standardError)")
            let deleted = try await vigil("workflows", "delete", "retrain", "--reason", "replaced by retrain-v2", "--cancel-runs", "--as", "bob")
            #expect(deleted.status == 0 && deleted.standardOutput == "workflow retrain: enabled → deleted\n", "\(deleted.standardError)")
            let runs = RunStore(database: database)
            #expect(try await runs.run(active).state == .cancelled)
            #expect(!(try await vigil("workflows", "list")).standardOutput.contains("retrain"))
            #expect(try await vigil("workflows", "list", "--all").standardOutput.contains("retrain   deleted"))
            // History stays: the versions and the runs.
            #expect(try await vigil("workflows", "show", "retrain").status == 0)
            #expect(try await vigil("runs", "list").standardOutput.contains("retrain"))
            let reapplied = try await vigil("apply", folder.path)
            #expect(reapplied.status != 0 && reapplied.standardError.contains("workflow 'retrain' was deleted; `vigil workflows enable retrain` brings it back"), "\(reapplied.standardError)")

            let audit = try await AuditLog(database: database).list(subject: "workflow:retrain").map { "\($0.actor) \($0.action) \($0.reason ?? "")" }
            #expect(audit.contains("alice workflow.disabled retraining budget spent") && audit.contains("alice workflow.enabled budget renewed")
                    && audit.contains("bob workflow.deleted replaced by retrain-v2"), "\(audit)")
            let unknown = try await vigil("workflows", "disable", "nope", "--reason", "x")
            #expect(unknown.status != 0 && unknown.standardError.contains("no workflow named 'nope'"))
        }
    }
}
