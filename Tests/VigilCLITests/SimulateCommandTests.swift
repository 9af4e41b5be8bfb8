import Foundation
import Testing
import VigilStore
import VigilTesting

@Suite("vigil simulate")
struct SimulateCommandTests {
    @Test("simulates a churn model's traffic from a bootstrapped champion, with labels after their delay")
    func simulate() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-sim-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: home) }
            let environment = VigilProcess.cleanEnvironment(["VIGIL_HOME": home.path])
            let arguments = ["simulate", "--hours", "4", "--rate", "50", "--end", "2026-11-24T12:00:00Z", "--onset", "2h", "--database-url", url]
            let refused = try await VigilProcess.run(arguments, environment: environment)
            #expect(refused.status != 0 && refused.standardError.contains("has no champion to serve; pass --bootstrap"))
            let run = try await VigilProcess.run(arguments + ["--bootstrap"], environment: environment)
            #expect(run.status == 0, "\(run.standardError)")
            #expect(run.standardOutput.contains("registered churn version 1 as champion"))
            #expect(run.standardOutput.hasSuffix("simulated 4h of concept traffic for churn: 200 champion, 0 canary, 0 shadow requests, 100 labels\n"), "\(run.standardOutput)")
            let logged = try await database.client.query("SELECT count(*)::int8, count(DISTINCT request_id)::int8 FROM inference_log WHERE model = 'churn'")
                .decode((Int, Int).self).first { _ in true }
            #expect(logged?.0 == 200 && logged?.1 == 200)
            let bad = try await VigilProcess.run(["simulate", "--scenario", "storm", "--database-url", url], environment: environment)
            #expect(bad.status != 0 && bad.standardError.contains("--scenario must be one of none, seasonal, concept, gradual, bad-challenger"))
        }
    }
}
