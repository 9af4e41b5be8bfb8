import Foundation
import Testing
@testable import VigilEngine
import VigilStore
import VigilTesting

/// A step's log lines survive a moment when the database refuses them.
@Suite("Step logs through an outage", .timeLimit(.minutes(2)))
struct StepLogSinkTests {
    @Test("lines refused by the database are kept and written, in order, with the next ones")
    func keepsRefusedLines() async throws {
        try await TestDatabase.withFresh { database in
            let (sink, runID) = try await Self.sink(in: database)
            // The table gone for a moment stands for an outage: every write fails.
            try await database.client.query("ALTER TABLE step_logs RENAME TO step_logs_away", logger: database.logger)
            await sink.append(["first", "second"], stream: "stdout")
            await sink.append(["third"], stream: "log")
            #expect(await sink.heldLines == 3)
            try await database.client.query("ALTER TABLE step_logs_away RENAME TO step_logs", logger: database.logger)
            await sink.append(["fourth"], stream: "log")
            #expect(await sink.heldLines == 0)
            let logs = try await RunStore(database: database).logs(ofRun: runID, step: "work")
            #expect(logs.map(\.line) == ["first", "second", "third", "fourth"])
            #expect(logs.map(\.stream) == ["stdout", "stdout", "log", "log"])
        }
    }

    @Test("beyond the held-line limit the oldest refused lines are let go, the newest kept")
    func dropsOldestBeyondLimit() async throws {
        try await TestDatabase.withFresh { database in
            let (sink, runID) = try await Self.sink(in: database)
            try await database.client.query("ALTER TABLE step_logs RENAME TO step_logs_away", logger: database.logger)
            await sink.append((0..<StepLogSink.heldLineLimit).map { "line \($0)" }, stream: "log")
            await sink.append(["last"], stream: "log")
            #expect(await sink.heldLines == StepLogSink.heldLineLimit)
            try await database.client.query("ALTER TABLE step_logs_away RENAME TO step_logs", logger: database.logger)
            await sink.flush()
            let lines = try await RunStore(database: database).logs(ofRun: runID, step: "work").map(\.line)
            #expect(lines.count == StepLogSink.heldLineLimit)
            #expect(lines.first == "line 1" && lines.last == "last")
        }
    }

    /// A sink for step `work` of a new run of a one-step workflow.
    private static func sink(in database: Database) async throws -> (StepLogSink, Int) {
        _ = try await EngineFixtures.apply("name: logs\nsteps:\n  work: { uses: record }\n", to: database)
        let runID = try await RunLauncher(database: database).start("logs", trigger: .init(kind: .manual, actor: "t")).runID
        return (StepLogSink(store: RunStore(database: database), runID: runID, step: "work", attempt: 1, clock: SystemClock()), runID)
    }
}
