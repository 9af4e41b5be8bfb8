import Foundation
import Testing
import VigilEngine
import VigilStatistics
import VigilStore
import VigilTesting
import VigilWorkflow

/// The lifecycle's rules against the real store: random interleavings of several workers
/// claiming, finishing late, losing their leases, draining, and timers coming due, on one
/// database, each checked against what the store recorded.
@Suite("Lifecycle properties on the real store", .timeLimit(.minutes(5)))
struct LifecyclePropertyTests {
    static let workers = ["w1", "w2", "w3"]

    /// One operation of a random interleaving.
    enum Operation {
        case claim(worker: String)
        case finish(worker: String, end: AttemptEnd)
        case expireLeases
        case drain(worker: String)
        case passTime(seconds: Double)
        /// A person decides on a step waiting for approval.
        case decide(approve: Bool)
        case cancel
    }

    static func operation(_ random: inout SeededGenerator, now: Date) -> Operation {
        let worker = workers[Int.random(in: 0..<workers.count, using: &random)]
        switch Int.random(in: 0..<14, using: &random) {
        case 0...2: return .claim(worker: worker)
        case 3...6:
            let end: AttemptEnd = switch Int.random(in: 0..<8, using: &random) {
            case 0, 1: .succeeded(outputs: ["ok": .bool(true)])
            case 2: .failed(error: "not found", retryable: false)
            case 3: .sleeping(until: now.addingTimeInterval(5), memo: ["n": .number(1)])
            case 4: .awaitingApproval(memo: ["roles": .array([.string("approver")])])
            default: .failed(error: "boom", retryable: true)
            }
            return .finish(worker: worker, end: end)
        case 7, 8: return .expireLeases
        case 9: return .drain(worker: worker)
        case 10: return .decide(approve: Bool.random(using: &random))
        case 11 where Int.random(in: 0..<8, using: &random) == 0: return .cancel
        default: return .passTime(seconds: Double.random(in: 1...400, using: &random))
        }
    }

    @Test("random interleavings (40 by default): one accepted result per attempt, attempts within the cap, legal changes that replay, a reason on every end, each decision audited once")
    func interleavings() async throws {
        let seed = ProcessInfo.processInfo.environment["VIGIL_LIFECYCLE_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0 ... .max)
        var random = SeededGenerator(seed: seed)
        try await TestDatabase.withFresh { database in
            let store = RunStore(database: database)
            for attempts in 1...4 {
                _ = try await EngineFixtures.apply("""
                    name: chaos\(attempts)
                    steps:
                      work:
                        uses: record
                        retry: { max_attempts: \(attempts), backoff: { initial: 1s, max: 30s } }
                    """, to: database)
            }
            // Runs are created at the wall clock's time; the sequence's own time starts there.
            var now = Date().addingTimeInterval(1)
            var refusedLate = 0
            var endings: [StepState: Int] = [:]
            // Each interleaving is a few dozen round trips; the default keeps the suite quick on a
            // loaded machine, and VIGIL_LIFECYCLE_SEQUENCES runs a longer soak.
            let count = ProcessInfo.processInfo.environment["VIGIL_LIFECYCLE_SEQUENCES"].flatMap(Int.init).map { max(1, $0) } ?? 40
            for sequence in 0..<count {
                let replay = "seed \(seed), sequence \(sequence) (VIGIL_LIFECYCLE_SEED=\(seed) replays it)"
                let attempts = Int.random(in: 1...4, using: &random)
                let id = try await RunLauncher(database: database).start("chaos\(attempts)", trigger: .init(kind: .manual, actor: "property")).runID
                // Which attempt each worker believes it holds: a worker whose lease was taken
                // over still reports its result, late.
                var held: [String: Int] = [:]
                var accepted: [Int: Int] = [:]
                var decisions = 0
                for _ in 0..<40 {
                    let step = try #require(try await store.steps(ofRun: id).first)
                    if step.state.isTerminal { break }
                    switch Self.operation(&random, now: now) {
                    case let .claim(worker):
                        for claimed in try await store.claim(worker: worker, limit: 1, lease: 10, now: now) where claimed.runID == id {
                            held[worker] = claimed.attempt
                        }
                    case let .finish(worker, end):
                        guard let attempt = held[worker] else { continue }
                        let completion = StepCompletion(runID: id, name: "work", attempt: attempt, result: end)
                        let recorded = try await store.finish([completion], worker: worker, now: now).contains(completion.key)
                        // A sleep ends a claim but not the attempt: it resumes under the same number.
                        // A sleep or a wait for approval ends a claim but not the attempt: it resumes under the same number.
                        switch end {
                        case .sleeping, .awaitingApproval: break
                        default: if recorded { accepted[attempt, default: 0] += 1 }
                        }
                        if !recorded { refusedLate += 1 }
                        held[worker] = nil
                    case .expireLeases:
                        now = now.addingTimeInterval(11)
                        try await store.releaseLeases(owner: nil, actor: "maintenance", now: now)
                    case let .drain(worker):
                        try await store.releaseLeases(owner: worker, actor: worker, now: now)
                        held[worker] = nil
                    case let .passTime(seconds):
                        now = now.addingTimeInterval(seconds)
                        try await store.wakeDueSteps(actor: "maintenance", now: now)
                    case let .decide(approve):
                        let approver = Approver(name: "approver-\(Int.random(in: 1...2, using: &random))", roles: ["approver"])
                        do {
                            try await store.decideApproval(run: id, step: "work", approve: approve, approver: approver, reason: "property", now: now)
                            decisions += 1
                        } catch let error as StoreError where error.code == .conflict {
                            // Not waiting for approval: nothing was decided, and nothing may be recorded.
                        }
                    case .cancel:
                        do {
                            try await store.cancel(id, actor: "property", reason: "cancelled mid-flight", now: now)
                        } catch let error as StoreError where error.code == .conflict {}
                    }
                }
                let step = try #require(try await store.steps(ofRun: id).first)
                endings[step.state, default: 0] += 1
                if try await store.run(id).state.isActive {
                    try await store.cancel(id, actor: "property", reason: "end of the sequence", now: now)
                }
                // Every decision counted is audited once, and nothing else is.
                let audited = try await AuditLog(database: database).list(subject: "run:\(id)/work").filter { ["run.approved", "run.rejected"].contains($0.action) }
                try #require(audited.count == decisions, "\(decisions) decisions, \(audited.count) audited; \(replay)")
                let events = try await store.events(ofRun: id).filter { $0.step == "work" }
                // At most one result is recorded per attempt, whoever reports it and however late.
                try #require(accepted.values.allSatisfy { $0 == 1 }, "an attempt recorded twice: \(accepted); \(replay)")
                // Every change is legal, and nothing leaves a terminal state.
                for event in events {
                    let from = try #require(StepState(rawValue: event.fromState ?? "pending")), to = try #require(StepState(rawValue: event.toState))
                    try #require(from.canChange(to: to), "\(from) → \(to) recorded; \(replay)")
                    try #require(!from.isTerminal, "\(from) → \(to) left a terminal state; \(replay)")
                    if to == .failed || to == .retrying { try #require(event.reason?.isEmpty == false, "\(to) without a reason; \(replay)") }
                }
                // Attempts that ended by failure or a lost worker stay within the cap; drains and
                // sleeps do not count.
                let charged = events.filter {
                    $0.fromState == "running" && ($0.toState == "retrying" || ($0.toState == "ready" && $0.reason?.contains("expired") == true))
                }.count
                let cap = RetryPolicy.attemptsBeforeWorkerLossFails(RetryPolicy(maximumAttempts: attempts))
                try #require(charged < cap, "\(charged) charged attempt ends under a cap of \(cap); \(replay)")
                let final = try #require(try await store.steps(ofRun: id).first)
                if final.state == .failed { try #require(final.error?.isEmpty == false, "failed without an error; \(replay)") }
                try await RunExecutionTests.expectReplay(id, database)
            }
            // The interleavings reach late results, successes and failures, or they prove little.
            #expect(refusedLate * 20 > count && endings[.succeeded, default: 0] * 20 > count && endings[.failed, default: 0] * 20 > count,
                    "late \(refusedLate), endings \(endings); seed \(seed)")
        }
    }

    @Test("a step whose worker dies each time it resumes from a sleep fails at the cap instead of resuming forever (found by the interleavings)")
    func lostWhileResuming() async throws {
        try await TestDatabase.withFresh { database in
            _ = try await EngineFixtures.apply("name: napper\nsteps:\n  work: { uses: record }\n", to: database)
            let store = RunStore(database: database)
            let id = try await RunLauncher(database: database).start("napper", trigger: .init(kind: .manual, actor: "t")).runID
            var now = Date().addingTimeInterval(1)
            let first = try #require(try await store.claim(worker: "w1", limit: 1, lease: 10, now: now).first)
            let nap = StepCompletion(runID: id, name: "work", attempt: first.attempt, result: .sleeping(until: now.addingTimeInterval(5), memo: [:]))
            #expect(try await store.finish([nap], worker: "w1", now: now).contains(nap.key))
            now = now.addingTimeInterval(6)
            try await store.wakeDueSteps(actor: "maintenance", now: now)
            var claims: [ClaimedStep] = []
            for _ in 0..<6 {
                guard let claimed = try await store.claim(worker: "w1", limit: 1, lease: 10, now: now).first else { break }
                claims.append(claimed)
                now = now.addingTimeInterval(11)
                try await store.releaseLeases(owner: nil, actor: "maintenance", now: now)
            }
            // The resumed attempt 1 is lost, then attempts 2 and 3: the third loss fails the step.
            #expect(claims.map(\.attempt) == [1, 2, 3] && claims.first?.resuming == true)
            let step = try #require(try await store.steps(ofRun: id).first)
            #expect(step.state == .failed && step.error?.hasPrefix("worker lost 3 times (attempt 3 of 3)") == true, "\(step.state) \(step.error ?? "")")
            try await RunExecutionTests.expectReplay(id, database)
        }
    }
}
