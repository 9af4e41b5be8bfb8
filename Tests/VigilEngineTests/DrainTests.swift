import Foundation
import Testing
import VigilEngine
import VigilStore
import VigilTesting

@Suite("Graceful shutdown", .timeLimit(.minutes(4)))
struct DrainTests {
    @Test("SIGTERM drains a worker process: the running step finishes and is recorded, then the process exits 0")
    func drainOnSIGTERM() async throws {
        try await TestDatabase.withFresh { database in
            _ = try await EngineFixtures.apply("""
                name: drain
                steps:
                  work:
                    uses: command
                    with: { run: ["sh", "-c", "sleep 8; echo finished"] }
                """, to: database)
            let id = try await RunLauncher(database: database).start("drain", trigger: .init(kind: .manual, actor: "t")).runID
            let url = database.configuration.url(revealingPassword: true)
            let child = try VigilProcess.start(["worker", "--database-url", url, "--concurrency", "1"], environment: VigilProcess.cleanEnvironment())
            let store = RunStore(database: database)
            // The step runs 8 s: long enough to be seen running while a neighbouring test holds this process's cooperative pool.
            let running = try await eventually(timeout: .seconds(90)) { try await store.steps(ofRun: id).first?.state == .running }
            #expect(running)
            kill(child.processIdentifier, SIGTERM)
            let exit = try await child.wait()
            #expect(exit.status == 0, "\(exit.standardError)")
            #expect(try await store.run(id).state == .succeeded)
            #expect(try await store.logs(ofRun: id, step: "work").map(\.line) == ["finished"])
        }
    }
}
