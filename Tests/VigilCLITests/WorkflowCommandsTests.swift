import Foundation
import Testing
import VigilStore
import VigilTesting

@Suite("vigil validate, apply, workflows and graph")
struct WorkflowCommandsTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("validate exits 0 with a summary on workflows/, 1 with every located problem otherwise")
    func validate() async throws {
        let environment = VigilProcess.cleanEnvironment()
        let good = try await VigilProcess.run(["validate", Self.repository.appendingPathComponent("workflows").path], environment: environment)
        #expect(good.status == 0)
        #expect(good.standardOutput.hasPrefix("3 workflows valid: churn-monitor, churn-retrain, fraud-monitor"))
        let broken = Self.repository.appendingPathComponent("Tests/VigilWorkflowTests/Broken/cycle.yaml").path
        let bad = try await VigilProcess.run(["validate", broken], environment: environment)
        #expect(bad.status == 1)
        #expect(bad.standardError.hasPrefix("\(broken):8:12: steps form a cycle: a → b → c → a\n"))
    }

    @Test("apply twice stores one version; an edit stores two; show, diff and graph read them back")
    func applyAndVersions() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-wf-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let path = folder.appendingPathComponent("loop.yaml")
            try "name: loop\nsteps:\n  monitor:\n    uses: monitor\n".write(to: path, atomically: true, encoding: .utf8)

            let first = try await VigilProcess.run(["apply", folder.path, "--database-url", url, "--as", "alice"], environment: environment)
            #expect(first.status == 0, "\(first.standardError)")
            #expect(first.standardOutput == "loop: applied as version 1\n")
            let again = try await VigilProcess.run(["apply", folder.path, "--database-url", url], environment: environment)
            #expect(again.standardOutput == "loop: unchanged (version 1)\n")

            try "name: loop\nsteps:\n  monitor:\n    uses: monitor\n  evaluate:\n    uses: evaluate\n    needs: monitor\n".write(to: path, atomically: true, encoding: .utf8)
            let edited = try await VigilProcess.run(["apply", folder.path, "--database-url", url], environment: environment)
            #expect(edited.standardOutput == "loop: applied as version 2\n")

            // A broken file alongside a good one: nothing is stored.
            try "name: other\nsteps:\n  m:\n    uses: monitr\n".write(to: folder.appendingPathComponent("other.yaml"), atomically: true, encoding: .utf8)
            let refused = try await VigilProcess.run(["apply", folder.path, "--database-url", url], environment: environment)
            #expect(refused.status == 1)
            #expect(refused.standardError.contains("other.yaml:4:11: unknown step type 'monitr'; did you mean 'monitor'?"))
            #expect(refused.standardError.contains("nothing was applied"))

            let list = try await VigilProcess.run(["workflows", "list", "--database-url", url], environment: environment)
            #expect(list.standardOutput.split(separator: "\n").last?.hasPrefix("loop      enabled  2        2         2") == true, "\(list.standardOutput)")
            let show = try await VigilProcess.run(["workflows", "show", "loop", "--version", "1", "--database-url", url], environment: environment)
            #expect(show.standardOutput.contains("# loop version 1, applied") && show.standardOutput.contains("by alice"))
            #expect(!show.standardOutput.contains("evaluate"))
            let diff = try await VigilProcess.run(["workflows", "diff", "loop", "1", "2", "--database-url", url], environment: environment)
            #expect(diff.standardOutput.contains("--- loop@1\n+++ loop@2\n"))
            #expect(diff.standardOutput.contains("+  evaluate:\n+    uses: evaluate\n+    needs: monitor\n"))
            let dot = try await VigilProcess.run(["graph", "loop", "--format", "dot", "--database-url", url], environment: environment)
            #expect(dot.standardOutput.contains("\"monitor\" -> \"evaluate\";"))
            let missing = try await VigilProcess.run(["graph", "nope", "--database-url", url], environment: environment)
            #expect(missing.status == 1 && missing.standardError == "vigil: error: no workflow named 'nope' has been applied (known: loop)\n")
        }
    }
}
