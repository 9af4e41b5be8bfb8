import Foundation
import Testing
import VigilEngine
import VigilStore
import VigilTesting
import VigilWorkflow

@Suite("Durability: crashes, restarts and many schedulers", .timeLimit(.minutes(5)))
struct DurabilityTests {
    @Test("a step whose worker is SIGKILLed is reclaimed after its lease expires and completes exactly once")
    func killedWorker() async throws {
        try await TestDatabase.withFresh { database in
            let marker = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-kill-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: marker) }
            // The step sleeps, then appends its attempt to the marker file: an attempt that is killed writes nothing.
            // Long enough to be seen running while a neighbouring test holds this process's cooperative pool.
            _ = try await EngineFixtures.apply("""
                name: long
                steps:
                  train:
                    uses: command
                    with:
                      run: ["sh", "-c", "sleep 8; echo $VIGIL_ATTEMPT >> \(marker.path)"]
                """, to: database)
            let id = try await RunLauncher(database: database).start("long", trigger: .init(kind: .manual, actor: "t")).runID
            let url = database.configuration.url(revealingPassword: true)
            let child = try VigilProcess.start(["worker", "--database-url", url, "--lease", "2s", "--concurrency", "1"], environment: VigilProcess.cleanEnvironment())
            let store = RunStore(database: database)
            let leased = try await eventually(timeout: .seconds(90)) { // a worker process starting on a loaded machine
                try await store.steps(ofRun: id).first?.state == .running
            }
            #expect(leased)
            kill(child.processIdentifier, SIGKILL)
            _ = try? await child.wait()
            // The lease lapses, another worker reclaims the step and runs its 8 s again: on a two-core
            // machine shared with the rest of the suite that has taken over 30 s.
            let run = try await EngineFixtures.withWorkers(database, configuration: EngineFixtures.workerConfiguration()) {
                try await EngineFixtures.waitForRun(id, in: database, timeout: .seconds(120))
            }
            #expect(run.state == .succeeded)
            let step = try #require(try await store.steps(ofRun: id).first)
            #expect(step.attempt == 2)
            let events = try await store.events(ofRun: id).filter { $0.step == "train" }
            #expect(events.filter { $0.toState == "succeeded" }.count == 1)
            #expect(events.contains { $0.toState == "ready" && $0.reason?.contains("expired") == true })
            // Wait out the killed worker's orphaned sleep: only the second attempt may have written.
            try await Task.sleep(for: .seconds(8.1))
            #expect(try String(contentsOf: marker, encoding: .utf8) == "2\n")
            try await RunExecutionTests.expectReplay(id, database)
        }
    }

    @Test("a step that kills its worker every time fails after its attempts, with lease expiry named; without a retry block the default cap holds",
          arguments: [("retry: { max_attempts: 4 }", 4), ("", RetryPolicy.defaultLeaseLosses), ("retry: 1", RetryPolicy.defaultLeaseLosses)])
    func workerLostEveryTime(retry: String, attempts: Int) async throws {
        try await TestDatabase.withFresh { database in
            _ = try await EngineFixtures.apply("""
                name: doomed
                steps:
                  train:
                    uses: command
                    with: { run: ["sleep", "60"] }
                    \(retry)
                """, to: database)
            let id = try await RunLauncher(database: database).start("doomed", trigger: .init(kind: .manual, actor: "t")).runID
            let url = database.configuration.url(revealingPassword: true)
            let store = RunStore(database: database)
            // SIGKILL each worker as soon as it runs the step, then start another, as a crash loop would.
            for attempt in 1...attempts {
                let worker = try VigilProcess.start(["worker", "--database-url", url, "--lease", "1s", "--concurrency", "1"], environment: VigilProcess.cleanEnvironment())
                let running = try await eventually(timeout: .seconds(90)) {
                    let step = try await store.steps(ofRun: id).first
                    return step?.state == .running && step?.attempt == attempt
                }
                #expect(running, "attempt \(attempt) never ran")
                kill(worker.processIdentifier, SIGKILL)
                _ = try? await worker.wait()
                pkill(matching: "sleep 60")
            }
            let run = try await EngineFixtures.withWorkers(database, configuration: EngineFixtures.workerConfiguration(lease: 1)) {
                try await EngineFixtures.waitForRun(id, in: database)
            }
            #expect(run.state == .failed)
            let step = try #require(try await store.steps(ofRun: id).first)
            #expect(step.state == .failed && step.attempt == attempts)
            #expect(step.error?.hasPrefix("worker lost \(attempts) times (attempt \(attempts) of \(attempts)); last attempt on worker-") == true, "\(step.error ?? "")")
            #expect(step.error?.hasSuffix(", lease 1s") == true, "\(step.error ?? "")")
            let expired = try await store.events(ofRun: id).filter { $0.step == "train" && $0.reason?.contains("expired") == true }
            #expect(expired.count == attempts - 1)

            // The machine-readable history tells the same story, attempt by attempt.
            let shown = try await VigilProcess.run(["runs", "show", String(id), "--format", "json"], on: database)
            #expect(shown.status == 0, "\(shown.standardError)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(shown.standardOutput.utf8)) as? [String: Any])
            #expect((json["run"] as? [String: Any])?["state"] as? String == "failed")
            let train = try #require((json["steps"] as? [[String: Any]])?.first)
            #expect(train["state"] as? String == "failed" && train["attempts"] as? Int == attempts)
            #expect((train["reason"] as? String)?.hasPrefix("worker lost") == true)
            let history = try #require(train["attempt_history"] as? [[String: Any]])
            #expect(history.compactMap { $0["attempt"] as? Int } == Array(1...attempts))
            #expect(history.compactMap { $0["outcome"] as? String } == Array(repeating: "ready", count: attempts - 1) + ["failed"])
            #expect(history.allSatisfy { ($0["worker"] as? String)?.hasPrefix("worker-") == true && $0["started_at"] is String && $0["ended_at"] is String })
            let list = try await VigilProcess.run(["runs", "list", "--format", "json"], on: database)
            let runs = (try JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8)) as? [String: Any])?["runs"] as? [[String: Any]]
            #expect(runs?.compactMap { $0["id"] as? Int } == [id] && runs?.first?["workflow"] as? String == "doomed")
        }
    }

    /// Ends the orphaned children of a killed worker (SIGKILL does not reach its process group).
    private func pkill(matching pattern: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/pkill")
        process.arguments = ["-f", pattern]
        try? process.run()
        process.waitUntilExit()
    }

    @Test("steps that hold every thread of the cooperative pool for two leases do not lose those leases: renewal runs on a thread of its own")
    func busyStepsKeepTheirLeases() async throws {
        try await TestDatabase.withFresh { database in
            // One busy step per core fills Swift's cooperative pool; a heartbeat scheduled there
            // would wait out the lease and the steps would be taken back and run again.
            let width = ProcessInfo.processInfo.activeProcessorCount
            let steps = (0..<width).map { "  spin\($0):\n    uses: busy\n    with: { seconds: 3.5 }" }.joined(separator: "\n")
            _ = try await EngineFixtures.apply("name: busy\nsteps:\n\(steps)\n", to: database)
            let id = try await RunLauncher(database: database).start("busy", trigger: .init(kind: .manual, actor: "t")).runID
            // Another host's maintenance pass, on a thread of its own, takes back any lease that lapses.
            let store = RunStore(database: database)
            let thread = ThreadExecutor()
            let otherHost = Task(executorPreference: thread) {
                while !Task.isCancelled {
                    _ = try? await store.releaseLeases(owner: nil, actor: "other-host", now: Date())
                    try? await thread.sleep(for: 0.1)
                }
            }
            defer { otherHost.cancel() }
            let run = try await EngineFixtures.withWorkers(database, configuration: EngineFixtures.workerConfiguration(concurrency: width, lease: 1.5)) {
                try await EngineFixtures.waitForRun(id, in: database)
            }
            #expect(run.state == .succeeded)
            let recorded = try await store.steps(ofRun: id)
            #expect(recorded.count == width && recorded.allSatisfy { $0.attempt == 1 })
            let events = try await store.events(ofRun: id)
            #expect(!events.contains { $0.reason?.contains("expired") == true })
        }
    }

    @Test("a sleep survives a worker restart and resumes at the right time")
    func sleepAcrossRestart() async throws {
        try await TestDatabase.withFresh { database in
            _ = try await EngineFixtures.apply("name: nap\nsteps:\n  wait:\n    uses: sleep\n    with: { for: 2s }\n", to: database)
            let store = RunStore(database: database)
            let started = Date()
            let id = try await RunLauncher(database: database).start("nap", trigger: .init(kind: .manual, actor: "t")).runID
            try await EngineFixtures.withWorkers(database) {
                let sleeping = try await eventually { try await store.steps(ofRun: id).first?.state == .sleeping }
                #expect(sleeping)
            }
            // No worker for a while; then a new one picks the timer up.
            try await Task.sleep(for: .milliseconds(700))
            #expect(try await store.steps(ofRun: id).first?.state == .sleeping)
            let restarted = Date()
            let run = try await EngineFixtures.withWorkers(database) { try await EngineFixtures.waitForRun(id, in: database) }
            #expect(run.state == .succeeded)
            let finished = try #require(try await store.steps(ofRun: id).first?.finishedAt)
            let elapsed = finished.timeIntervalSince(started)
            // Never early. And once a worker is back and the timer due, it resumes promptly: the bound
            // only catches a timer left to a slow fallback, with room for a loaded machine.
            let late = finished.timeIntervalSince(max(started.addingTimeInterval(2), restarted))
            #expect(elapsed >= 2 && late < 8, "resumed after \(elapsed) s, \(late) s after it could")
        }
    }

    @Test("three schedulers on one cron workflow for five ticks produce five runs")
    func threeSchedulers() async throws {
        try await TestDatabase.withFresh { database in
            _ = try await EngineFixtures.apply("""
                name: every-minute
                schedule: { cron: "* * * * *", catch_up: all }
                steps:
                  noop: { uses: sleep, with: { for: 1ms } }
                """, to: database)
            // Start half a minute past the minute the workflow was applied in, so five advances cross five minutes.
            let applied = try #require(try await RunStore(database: database).lastScheduledTick(of: "every-minute"))
            let clock = ManualClock(Date(timeIntervalSince1970: (applied.timeIntervalSince1970 / 60).rounded(.down) * 60 + 30))
            let schedulers = (0..<3).map { index in
                var configuration = Scheduler.Configuration()
                configuration.identifier = "scheduler-\(index)"
                return Scheduler(database: database, clock: clock, configuration: configuration, logger: EngineFixtures.logger)
            }
            for _ in 0..<5 {
                clock.advance(by: 60)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for scheduler in schedulers {
                        group.addTask { for _ in 0..<3 { _ = try await scheduler.tick() } }
                    }
                    try await group.waitForAll()
                }
            }
            let runs = try await RunStore(database: database).list(workflow: "every-minute")
            #expect(runs.count == 5)
            let ticks = try await database.client.query("SELECT count(*), count(DISTINCT claimed_by) > 0 FROM schedule_ticks").decode((Int, Bool).self).first { _ in true }
            #expect(ticks?.0 == 5)
        }
    }

    @Test("after downtime, catch_up skip runs only the latest missed tick; all runs each")
    func catchUp() async throws {
        try await TestDatabase.withFresh { database in
            for policy in ["skip", "all"] {
                _ = try await EngineFixtures.apply("""
                    name: hourly-\(policy)
                    schedule: { cron: "@hourly", catch_up: \(policy) }
                    steps:
                      noop: { uses: sleep, with: { for: 1ms } }
                    """, to: database)
            }
            // Five and a half hours after the hour the workflows were applied in: five missed hourly ticks.
            let applied = try #require(try await RunStore(database: database).lastScheduledTick(of: "hourly-all"))
            let clock = ManualClock(Date(timeIntervalSince1970: (applied.timeIntervalSince1970 / 3_600).rounded(.down) * 3_600 + 5.5 * 3_600))
            try await Scheduler(database: database, clock: clock, logger: EngineFixtures.logger).tick()
            let store = RunStore(database: database)
            #expect(try await store.list(workflow: "hourly-skip").count == 1)
            #expect(try await store.list(workflow: "hourly-all").count == 5)
        }
    }

    @Test("a disabled workflow's schedule starts nothing; enabled again, it does not catch up the ticks missed while disabled")
    func disabledSchedule() async throws {
        try await TestDatabase.withFresh { database in
            _ = try await EngineFixtures.apply("""
                name: hourly
                schedule: { cron: "@hourly", catch_up: all }
                steps:
                  noop: { uses: sleep, with: { for: 1ms } }
                """, to: database)
            let applied = try #require(try await RunStore(database: database).lastScheduledTick(of: "hourly"))
            let hour = (applied.timeIntervalSince1970 / 3_600).rounded(.down) * 3_600
            let clock = ManualClock(Date(timeIntervalSince1970: hour + 3.5 * 3_600))
            let workflows = WorkflowStore(database: database)
            try await workflows.setState("hourly", to: .disabled, actor: "alice", reason: "paused", now: clock.now())
            let scheduler = Scheduler(database: database, clock: clock, logger: EngineFixtures.logger)
            #expect(try await scheduler.tick().isEmpty)
            try await workflows.setState("hourly", to: .enabled, actor: "alice", reason: "resumed", now: clock.now())
            #expect(try await scheduler.tick().isEmpty, "the three ticks missed while disabled are not caught up")
            clock.advance(by: 3_600)
            #expect(try await scheduler.tick().count == 1)
        }
    }

    @Test("restarting PostgreSQL mid-run: workers reconnect and the run finishes correctly")
    func databaseRestart() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-restart-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        chmod(home.path, 0o755)
        let cluster = EmbeddedCluster(home: home, settings: ["fsync": "off"])
        defer { try? cluster.destroy() }
        let configuration = try cluster.start(logger: EngineFixtures.logger)
        try await Database.withDatabase(configuration, logger: EngineFixtures.logger) { database in
            try await Migrator(database: database).apply()
            try await EngineFixtures.createSideEffects(database)
            _ = try await EngineFixtures.apply("""
                name: through
                steps:
                  before: { uses: record }
                  pause: { uses: sleep, needs: before, with: { for: 10s } }
                  after: { uses: record, needs: pause }
                """, to: database)
            let id = try await RunLauncher(database: database).start("through", trigger: .init(kind: .manual, actor: "t")).runID
            let run = try await EngineFixtures.withWorkers(database) {
                let store = RunStore(database: database)
                // A long sleep and a long wait: on a loaded machine (the full suite runs several
                // servers at once) a short one could pass unseen between two polls.
                let sleeping = try await eventually(timeout: .seconds(90)) { try await store.steps(ofRun: id).contains { $0.state == .sleeping } }
                #expect(sleeping)
                _ = try cluster.stop()
                try await Task.sleep(for: .seconds(1))
                _ = try cluster.start(logger: EngineFixtures.logger)
                return try await EngineFixtures.waitForRun(id, in: database, timeout: .seconds(120))
            }
            #expect(run.state == .succeeded)
            let effects = try await database.client.query("SELECT count(*) FROM side_effects").decode(Int.self).first { _ in true }
            #expect(effects == 2)
            try await RunExecutionTests.expectReplay(id, database)
        }
    }
}
