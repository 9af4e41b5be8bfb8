import Foundation
import Testing
import VigilStore
import VigilTesting

@Suite("The state machine, in code and in the database", .timeLimit(.minutes(3)))
struct StateMachineTests {
    @Test("the transition tables in the database are exactly the ones in code")
    func tablesAgree() async throws {
        try await TestDatabase.withFresh { database in
            var stepPairs = Set<String>(), runPairs = Set<String>()
            for try await (from, to) in try await database.client.query("SELECT from_state, to_state FROM step_transitions").decode((String, String).self) {
                stepPairs.insert("\(from)>\(to)")
            }
            for try await (from, to) in try await database.client.query("SELECT from_state, to_state FROM run_transitions").decode((String, String).self) {
                runPairs.insert("\(from)>\(to)")
            }
            #expect(stepPairs == Set(StepState.transitions.flatMap { from, tos in tos.map { "\(from.rawValue)>\($0.rawValue)" } }))
            #expect(runPairs == Set(RunState.transitions.flatMap { from, tos in tos.map { "\(from.rawValue)>\($0.rawValue)" } }))
        }
    }

    @Test("an illegal transition attempted directly in SQL is rejected; history cannot be rewritten")
    func illegalTransitions() async throws {
        try await TestDatabase.withFresh { database in
            let version = try await EngineFixtures.apply("name: w\nsteps:\n  a:\n    uses: record\n", to: database)
            let run = try await RunStore(database: database).createRun(version, params: [:], trigger: .init(kind: .manual, actor: "t"), now: Date())
            await #expect {
                try await database.client.query("UPDATE steps SET state = 'succeeded' WHERE run_id = \(run.runID) AND name = 'a'")
            } throws: { error in StoreError.explain(error).contains("illegal step transition ready -> succeeded") }
            await #expect {
                try await database.client.query("UPDATE runs SET state = 'waiting' WHERE id = \(run.runID)")
            } throws: { error in StoreError.explain(error).contains("illegal run transition queued -> waiting") }
            await #expect {
                try await database.client.query("UPDATE run_events SET actor = 'mallory'")
            } throws: { error in StoreError.explain(error).contains("run_events is append-only") }
            await #expect {
                try await database.client.query("DELETE FROM run_events")
            } throws: { error in StoreError.explain(error).contains("append-only") }
        }
    }
}
