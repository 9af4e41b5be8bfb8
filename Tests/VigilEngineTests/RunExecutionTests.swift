import Foundation
import Testing
import VigilEngine
import VigilStore
import VigilTesting
import VigilWorkflow

@Suite("Running workflows", .timeLimit(.minutes(3)))
struct RunExecutionTests {
    static let diamond = """
        name: diamond
        params:
          value: { type: number, default: 2 }
        steps:
          a:
            uses: record
            with: { value: "${{ params.value }}" }
          b:
            uses: record
            needs: a
            with: { value: "${{ steps.a.outputs.value }}" }
          c:
            uses: record
            needs: a
            if: steps.a.outputs.value > 100
          d:
            uses: record
            needs: [b, c]
          e:
            uses: record
            needs: [b, c]
            if: always()
        """

    @Test("steps run in order, outputs flow, conditions skip and skips propagate, events replay to the final state")
    func endToEnd() async throws {
        try await TestDatabase.withFresh { database in
            try await EngineFixtures.createSideEffects(database)
            _ = try await EngineFixtures.apply(Self.diamond, to: database)
            let launcher = RunLauncher(database: database)
            let creation = try await launcher.start("diamond", params: ["value": .number(7)], trigger: .init(kind: .manual, actor: "alice"))
            let run = try await EngineFixtures.withWorkers(database) {
                try await EngineFixtures.waitForRun(creation.runID, in: database)
            }
            #expect(run.state == .succeeded)
            let steps = try await RunStore(database: database).steps(ofRun: run.id)
            let states = Dictionary(uniqueKeysWithValues: steps.map { ($0.name, $0.state) })
            #expect(states == ["a": .succeeded, "b": .succeeded, "c": .skipped, "d": .skipped, "e": .succeeded])
            #expect(steps.first { $0.name == "b" }?.outputs?["value"] == .number(7))
            try await Self.expectReplay(run.id, database)
        }
    }

    @Test("an idle worker is woken by the notification a new run sends with its history, not by its poll")
    func newRunWakesIdleWorker() async throws {
        try await TestDatabase.withFresh { database in
            try await EngineFixtures.createSideEffects(database)
            _ = try await EngineFixtures.apply(Self.diamond, to: database)
            var configuration = EngineFixtures.workerConfiguration()
            // Far longer than the wait below: only `NOTIFY vigil_ready` can start the run in time.
            configuration.pollInterval = 600
            let run = try await EngineFixtures.withWorkers(database, configuration: configuration) {
                try await Task.sleep(for: .seconds(1))
                let creation = try await RunLauncher(database: database).start("diamond", trigger: .init(kind: .manual, actor: "alice"))
                return try await EngineFixtures.waitForRun(creation.runID, in: database, timeout: .seconds(60))
            }
            #expect(run.state == .succeeded)
            try await Self.expectReplay(run.id, database)
        }
    }

    /// Replaying `run_events` gives every step's and the run's final state.
    static func expectReplay(_ id: Int, _ database: Database) async throws {
        let store = RunStore(database: database)
        var stepStates: [String: String] = [:]
        var runState: String?
        for event in try await store.events(ofRun: id) {
            if let step = event.step {
                #expect(event.fromState == nil || stepStates[step, default: "pending"] == event.fromState, "event \(event.id) of \(step)")
                stepStates[step] = event.toState
            } else {
                runState = event.toState
            }
        }
        for step in try await store.steps(ofRun: id) {
            #expect(stepStates[step.name, default: "pending"] == step.state.rawValue, "replay of \(step.name)")
        }
        #expect(runState == (try await store.run(id)).state.rawValue)
    }

    @Test("4 workers on 200 runs of a 5-step workflow: every side effect exactly once, every run succeeds and replays")
    func manyWorkers() async throws {
        try await TestDatabase.withFresh { database in
            try await EngineFixtures.createSideEffects(database)
            _ = try await EngineFixtures.apply("""
                name: five
                steps:
                  s1: { uses: record }
                  s2: { uses: record, needs: s1 }
                  s3: { uses: record, needs: s1 }
                  s4: { uses: record, needs: [s2, s3] }
                  s5: { uses: record, needs: s4 }
                """, to: database)
            let launcher = RunLauncher(database: database)
            var ids: [Int] = []
            for _ in 0..<200 {
                ids.append(try await launcher.start("five", trigger: .init(kind: .manual, actor: "load")).runID)
            }
            let runIDs = ids
            try await EngineFixtures.withWorkers(database, count: 4) {
                for id in runIDs { _ = try await EngineFixtures.waitForRun(id, in: database, timeout: .seconds(120)) }
            }
            let store = RunStore(database: database)
            let runs = try await store.list(workflow: "five", limit: 500)
            #expect(runs.count == 200)
            for run in runs where run.state != .succeeded {
                let unfinished = try await store.steps(ofRun: run.id).filter { $0.state != .succeeded }.map { "\($0.name) \($0.state.rawValue): \($0.error ?? "-")" }
                Issue.record("run \(run.id) ended \(run.state.rawValue): \(unfinished.joined(separator: "; "))")
            }
            let effects = try await database.client.query("SELECT count(*), count(DISTINCT (run_id, step)) FROM side_effects").decode((Int, Int).self).first { _ in true }
            #expect(effects?.0 == 1_000 && effects?.1 == 1_000)
            // No step completes twice, and a step runs a second time only after its lease lapsed
            // (a starved worker on a loaded machine), when its idempotency key keeps the effect once.
            let completedTwice = try await database.client.query("""
                SELECT count(*) FROM (SELECT 1 FROM run_events WHERE step IS NOT NULL AND to_state = 'succeeded' GROUP BY run_id, step HAVING count(*) > 1) twice
                """).decode(Int.self).first { _ in true }
            #expect(completedTwice == 0)
            var ranAgain: [(Int, String)] = []
            for try await row in try await database.client.query("SELECT run_id, step FROM side_effects WHERE executions > 1").decode((Int, String).self) {
                ranAgain.append(row)
            }
            for (runID, step) in ranAgain {
                let lapsed = try await store.events(ofRun: runID).contains { $0.step == step && $0.toState == "ready" && $0.reason?.contains("expired") == true }
                #expect(lapsed, "run \(runID) step \(step) ran twice without losing its lease")
            }
            for id in ids.prefix(20) { try await Self.expectReplay(id, database) }
        }
    }

    @Test("a failing step is retried with backoff and keeps its idempotency key; on_failure and failure() route around a final failure")
    func retries() async throws {
        try await TestDatabase.withFresh { database in
            _ = try await EngineFixtures.apply("""
                name: retries
                steps:
                  flaky:
                    uses: flaky
                    with: { failures: 2 }
                    retry: { max_attempts: 3, backoff: { initial: 50ms, max: 100ms } }
                  doomed:
                    uses: flaky
                    with: { failures: 5 }
                    retry: 2
                  cleanup:
                    uses: sleep
                    needs: doomed
                    if: failure()
                    with: { for: 10ms }
                  after:
                    uses: sleep
                    needs: doomed
                    with: { for: 10ms }
                """, to: database)
            let id = try await RunLauncher(database: database).start("retries", trigger: .init(kind: .manual, actor: "t")).runID
            let run = try await EngineFixtures.withWorkers(database) { try await EngineFixtures.waitForRun(id, in: database) }
            #expect(run.state == .failed && run.error == "step doomed failed")
            let steps = Dictionary(uniqueKeysWithValues: try await RunStore(database: database).steps(ofRun: id).map { ($0.name, $0) })
            #expect(steps["flaky"]?.state == .succeeded && steps["flaky"]?.attempt == 3)
            #expect(steps["flaky"]?.outputs?["attempt"] == .number(3))
            #expect(steps["doomed"]?.state == .failed && steps["doomed"]?.attempt == 2 && steps["doomed"]?.error == "planned failure 2")
            #expect(steps["cleanup"]?.state == .succeeded && steps["after"]?.state == .skipped)
            let retrying = try await RunStore(database: database).events(ofRun: id).filter { $0.step == "flaky" && $0.toState == "retrying" }
            #expect(retrying.map(\.attempt) == [1, 2])
        }
    }

    @Test("a step past its timeout is cancelled and fails as timed out")
    func timeout() async throws {
        try await TestDatabase.withFresh { database in
            _ = try await EngineFixtures.apply("name: slow\nsteps:\n  wait:\n    uses: hang\n    timeout: 300ms\n", to: database)
            let id = try await RunLauncher(database: database).start("slow", trigger: .init(kind: .manual, actor: "t")).runID
            let run = try await EngineFixtures.withWorkers(database) { try await EngineFixtures.waitForRun(id, in: database) }
            #expect(run.state == .failed)
            #expect(try await RunStore(database: database).steps(ofRun: id).first?.error == "timed out after 300ms")
        }
    }

    @Test("an approval gate waits for a person; approve lets it run, reject fails it, each recorded with who and why")
    func approvals() async throws {
        try await TestDatabase.withFresh { database in
            try await EngineFixtures.createSideEffects(database)
            _ = try await EngineFixtures.apply("""
                name: gated
                steps:
                  ship:
                    uses: record
                    approval: { roles: [approver] }
                """, to: database)
            let launcher = RunLauncher(database: database)
            let store = RunStore(database: database)
            let first = try await launcher.start("gated", trigger: .init(kind: .manual, actor: "t")).runID
            let second = try await launcher.start("gated", trigger: .init(kind: .manual, actor: "t")).runID
            try await EngineFixtures.withWorkers(database) {
                let bothWaiting = try await eventually {
                    let a = try await store.run(first).state, b = try await store.run(second).state
                    return a == .waiting && b == .waiting
                }
                #expect(bothWaiting)
                #expect(try await store.steps(ofRun: first).first?.state == .awaitingApproval)
                try await store.decideApproval(run: first, step: "ship", approve: true, approver: Approver(name: "carol", roles: ["approver"]), reason: "looks good", now: Date())
                try await store.decideApproval(run: second, step: "ship", approve: false, approver: Approver(name: "dave", roles: ["approver"]), reason: "not now", now: Date())
                #expect(try await EngineFixtures.waitForRun(first, in: database).state == .succeeded)
                #expect(try await EngineFixtures.waitForRun(second, in: database).state == .failed)
            }
            let approval = try await store.events(ofRun: first).first { $0.reason?.hasPrefix("approved") == true }
            #expect(approval?.actor == "carol" && approval?.reason == "approved: looks good")
            #expect(try await store.steps(ofRun: second).first?.error == "rejected by dave: not now")
            await #expect(throws: StoreError.self) {
                try await store.decideApproval(run: first, step: "ship", approve: true, approver: Approver(name: "eve", roles: ["approver"]), reason: "again", now: Date())
            }
        }
    }

    @Test("a gate as the file says: roles enforced and refusals audited, no self-approval, a quorum of distinct approvers, and a timeout that rejects as vigil")
    func approvalGateRules() async throws {
        try await TestDatabase.withFresh { database in
            try await EngineFixtures.createSideEffects(database)
            // The same gate twice: one decided by people (with a timeout long enough for a loaded
            // machine), one left alone to time out after 5 s.
            for (name, timeout) in [("release", "2m"), ("release-unattended", "5s")] {
                _ = try await EngineFixtures.apply("""
                    name: \(name)
                    triggers: [manual]
                    steps:
                      ship:
                        uses: record
                        approval: { roles: [approver], quorum: 2, timeout: \(timeout), on_timeout: reject }
                    """, to: database)
            }
            let launcher = RunLauncher(database: database)
            let store = RunStore(database: database)
            let decided = try await launcher.start("release", trigger: .init(kind: .manual, actor: "sam")).runID
            let ignored = try await launcher.start("release-unattended", trigger: .init(kind: .manual, actor: "sam")).runID
            try await EngineFixtures.withWorkers(database) {
                let waiting = try await eventually { try await store.steps(ofRun: decided).first?.state == .awaitingApproval }
                #expect(waiting)
                func decide(_ name: String, _ roles: Set<String>, approve: Bool = true) async throws {
                    try await store.decideApproval(run: decided, step: "ship", approve: approve, approver: Approver(name: name, roles: roles), reason: "\(name) decides", now: Date())
                }
                // An operator-only principal, and the run's own starter, are refused.
                await #expect(throws: StoreError.self) { try await decide("olga", ["operator"]) }
                await #expect(throws: StoreError.self) { try await decide("sam", ["approver"]) }
                // So is the CLI, acting as an operator.
                let cli = try await VigilProcess.run(["approve", String(decided), "ship", "--reason", "ok", "--as", "olga", "--role", "operator"], on: database)
                #expect(cli.status == 1 && cli.standardError.contains("holds none of the roles this approval needs (approver)"), "\(cli.standardError)")
                // One approver is not a quorum of two; the same one again does not count twice.
                try await decide("alice", ["approver"])
                #expect(try await store.steps(ofRun: decided).first?.state == .awaitingApproval)
                await #expect(throws: StoreError.self) { try await decide("alice", ["approver"]) }
                try await decide("bob", ["approver", "operator"])
                #expect(try await EngineFixtures.waitForRun(decided, in: database).state == .succeeded)
                // The other run is left alone: its gate times out and rejects, as vigil.
                let timedOut = try await EngineFixtures.waitForRun(ignored, in: database, timeout: .seconds(15))
                #expect(timedOut.state == .failed)
            }
            let events = try await store.events(ofRun: ignored).filter { $0.step == "ship" }
            let rejection = try #require(events.last)
            #expect(rejection.toState == "failed" && rejection.actor == "vigil" && rejection.reason?.contains("on_timeout: reject") == true, "\(rejection)")
            let audit = try await AuditLog(database: database).list()
            let refusals = audit.filter { $0.action == "run.approval_refused" }
            #expect(refusals.map(\.actor) == ["olga", "sam", "olga", "alice"], "\(refusals.map(\.actor))")
            #expect(audit.filter { $0.action == "run.approved" }.map(\.actor) == ["alice", "bob"])
            let timeout = try #require(audit.first { $0.action == "run.approval_timed_out" })
            #expect(timeout.actor == "vigil" && timeout.subject == "run:\(ignored)/ship")
        }
    }

    @Test("concurrency: skip starts nothing, queue waits its turn, cancel supersedes; an idempotency key starts one run")
    func concurrency() async throws {
        try await TestDatabase.withFresh { database in
            let launcher = RunLauncher(database: database)
            let store = RunStore(database: database)
            for policy in ["skip", "queue", "cancel"] {
                _ = try await EngineFixtures.apply("""
                    name: gate-\(policy)
                    model: churn
                    concurrency: { policy: \(policy) }
                    steps:
                      wait: { uses: approval }
                    """, to: database)
            }
            let trigger = RunTrigger(kind: .manual, actor: "t")
            let skipFirst = try await launcher.start("gate-skip", trigger: trigger)
            #expect(try await launcher.start("gate-skip", trigger: trigger) == .skipped(becauseOf: skipFirst.runID))

            let queueFirst = try await launcher.start("gate-queue", trigger: trigger).runID
            let queued = try await launcher.start("gate-queue", trigger: trigger).runID
            #expect(try await store.steps(ofRun: queued).first?.state == .pending)
            try await store.cancel(queueFirst, actor: "t", reason: "done", now: Date())
            #expect(try await store.steps(ofRun: queued).first?.state == .ready)

            let cancelFirst = try await launcher.start("gate-cancel", trigger: trigger).runID
            let replacing = try await launcher.start("gate-cancel", trigger: trigger).runID
            #expect(try await store.run(cancelFirst).state == .cancelled)
            #expect(try await store.run(replacing).state == .queued)

            let once = try await launcher.start("gate-queue", trigger: trigger, idempotencyKey: "incident-1")
            #expect(try await launcher.start("gate-queue", trigger: trigger, idempotencyKey: "incident-1") == .existing(once.runID))
        }
    }

    @Test("runs retry re-runs failed steps and what depends on them, keeping succeeded outputs")
    func retryRun() async throws {
        try await TestDatabase.withFresh { database in
            try await EngineFixtures.createSideEffects(database)
            _ = try await EngineFixtures.apply("""
                name: fix
                steps:
                  first: { uses: record }
                  broken: { uses: flaky, needs: first, with: { failures: 1 } }
                  last: { uses: record, needs: broken }
                """, to: database)
            let store = RunStore(database: database)
            let id = try await RunLauncher(database: database).start("fix", trigger: .init(kind: .manual, actor: "t")).runID
            try await EngineFixtures.withWorkers(database) {
                #expect(try await EngineFixtures.waitForRun(id, in: database).state == .failed)
                try await store.retry(id, actor: "bob", now: Date())
                #expect(try await EngineFixtures.waitForRun(id, in: database).state == .succeeded)
            }
            let steps = Dictionary(uniqueKeysWithValues: try await store.steps(ofRun: id).map { ($0.name, $0) })
            let history = try await store.events(ofRun: id).map { "\($0.step ?? "run") \($0.fromState ?? "") → \($0.toState) (\($0.reason ?? ""))" }
            #expect(steps["broken"]?.attempt == 2 && steps["last"]?.state == .succeeded && steps["first"]?.attempt == 1, "\(history)")
            try await RunExecutionTests.expectReplay(id, database)
        }
    }
}

@Suite("Workflow versions and runs", .timeLimit(.minutes(4)))
struct PinnedVersionTests {
    @Test("a running run keeps the version it started on when a new version is applied")
    func pinned() async throws {
        try await TestDatabase.withFresh { database in
            try await EngineFixtures.createSideEffects(database)
            _ = try await EngineFixtures.apply("name: pin\nsteps:\n  gate: { uses: approval }\n  old: { uses: record, needs: gate }\n", to: database)
            let store = RunStore(database: database)
            let id = try await RunLauncher(database: database).start("pin", trigger: .init(kind: .manual, actor: "t")).runID
            try await EngineFixtures.withWorkers(database) {
                let waiting = try await eventually { try await store.run(id).state == .waiting }
                #expect(waiting)
                let second = try await EngineFixtures.apply("name: pin\nsteps:\n  gate: { uses: approval }\n  new: { uses: record, needs: gate }\n", to: database)
                #expect(second.version == 2)
                try await store.decideApproval(run: id, step: "gate", approve: true, approver: Approver(name: "a", roles: ["approver"]), reason: "go", now: Date())
                #expect(try await EngineFixtures.waitForRun(id, in: database).state == .succeeded)
            }
            #expect(try await store.run(id).workflowVersion == 1)
            #expect(try await store.steps(ofRun: id).map(\.name) == ["gate", "old"])
            let next = try await RunLauncher(database: database).start("pin", trigger: .init(kind: .manual, actor: "t")).runID
            #expect(try await store.run(next).workflowVersion == 2)
        }
    }
}
