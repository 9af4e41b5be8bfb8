import Foundation
import Testing
import VigilStatistics
import VigilStore
import VigilWorkflow

/// The lifecycle's rules as properties over random lives of a step: many attempts ending every
/// way an attempt can end, under random retry policies.
@Suite("Step lifecycle")
struct StepLifecycleTests {
    /// One simulated life, with what a failing property needs to replay it.
    struct Life {
        var ends: [AttemptEnd] = []
        var outcomes: [AttemptOutcome] = []
        var attempts: [Int] = []
    }

    static let start = Date(timeIntervalSince1970: 1_764_000_000)

    static func policy(_ random: inout SeededGenerator) -> RetryPolicy? {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return nil
        case 1: return RetryPolicy(maximumAttempts: 1)
        default:
            return RetryPolicy(maximumAttempts: Int.random(in: 1...6, using: &random), initialDelay: .init(seconds: Double.random(in: 0.05...5, using: &random)),
                               maximumDelay: .init(seconds: Double.random(in: 5...600, using: &random)), multiplier: Double.random(in: 1...3, using: &random))
        }
    }

    static func end(_ random: inout SeededGenerator, at now: Date) -> AttemptEnd {
        switch Int.random(in: 0..<20, using: &random) {
        case 0: .succeeded(outputs: ["n": .number(1)])
        case 1...5: .failed(error: "boom", retryable: true)
        case 6: .failed(error: "not found", retryable: false)
        case 7, 8: .sleeping(until: now.addingTimeInterval(60), memo: ["wake": .string("later")])
        case 9: .awaitingApproval(memo: ["roles": .array([.string("approver")])])
        case 10...15: .leaseExpired(worker: "worker-h-1", lease: 15)
        case 16, 17: .handedBack(by: "worker-h-2")
        default: .notStarted(reason: "cannot load the run", retryAt: now.addingTimeInterval(5))
        }
    }

    /// Lives one step until it ends (or 200 attempt ends), as workers and maintenance would: a
    /// step made ready or retrying is claimed as a new attempt; a sleep or an approval resumes
    /// the same attempt.
    static func live(_ policy: RetryPolicy?, _ random: inout SeededGenerator) -> Life {
        var life = Life()
        var attempt = 1
        var now = start
        while life.outcomes.count < 200 {
            let end = end(&random, at: now)
            let outcome = StepLifecycle.outcome(of: end, for: RunningStep(attempt: attempt, retry: policy), now: now, jitter: Double.random(in: 0...1, using: &random))
            life.ends.append(end)
            life.outcomes.append(outcome)
            life.attempts.append(attempt)
            if outcome.state.isTerminal { break }
            now = max(now, outcome.readyAt ?? now).addingTimeInterval(1)
            if outcome.state == .ready || outcome.state == .retrying { attempt += 1 }
        }
        return life
    }

    @Test("10,000 random lives: every change is legal, retries stay within the policy, lost workers within the cap, every end carries its reason")
    func properties() throws {
        let seed = ProcessInfo.processInfo.environment["VIGIL_LIFECYCLE_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0 ... .max)
        var random = SeededGenerator(seed: seed)
        var endings: [StepState: Int] = [:]
        for life in 0..<10_000 {
            let policy = Self.policy(&random)
            let lived = Self.live(policy, &random)
            let replay = "seed \(seed), life \(life) (VIGIL_LIFECYCLE_SEED=\(seed) replays it)"
            let maximum = (policy ?? RetryPolicy()).maximumAttempts
            let lossCap = RetryPolicy.attemptsBeforeWorkerLossFails(policy)
            for (index, (end, outcome)) in zip(lived.ends, lived.outcomes).enumerated() {
                let attempt = lived.attempts[index]
                try #require(StepState.running.canChange(to: outcome.state), "running → \(outcome.state) is not a legal change; \(replay)")
                // Every end but a success says why; a failure keeps its error.
                if outcome.state != .succeeded { try #require(outcome.reason?.isEmpty == false, "\(outcome.state) without a reason; \(replay)") }
                if outcome.state == .failed { try #require(outcome.error?.isEmpty == false, "a failure without its error; \(replay)") }
                switch end {
                case let .failed(_, retryable):
                    // A failed attempt retries only when it may and the policy has attempts left.
                    let retried = outcome.state == .retrying
                    try #require(retried == (retryable && attempt < maximum), "attempt \(attempt) of \(maximum) retried: \(retried); \(replay)")
                    if retried, let readyAt = outcome.readyAt {
                        let delay = readyAt.timeIntervalSince(Self.start)
                        try #require(delay >= 0, "a retry scheduled in the past; \(replay)")
                    }
                case .leaseExpired:
                    // A lost worker ends the attempt even when it was resumed: the next claim is a new one.
                    try #require(outcome.resumes == false, "a lost worker's attempt resumes; \(replay)")
                    try #require((outcome.state == .ready) == (attempt < lossCap), "lost worker at attempt \(attempt), cap \(lossCap): \(outcome.state); \(replay)")
                    if outcome.state == .failed { try #require(outcome.reason?.contains("worker lost \(attempt) time") == true, "\(replay)") }
                case .handedBack, .notStarted:
                    try #require(!outcome.state.isTerminal, "an attempt that never ran its work ended the step; \(replay)")
                case .succeeded:
                    try #require(outcome.state == .succeeded && outcome.outputs != nil, "\(replay)")
                case .sleeping, .awaitingApproval:
                    try #require(outcome.state.isWaiting && outcome.memo != nil, "\(replay)")
                }
                // Only the last outcome of a life may be terminal: nothing follows an end.
                try #require(outcome.state.isTerminal == (index == lived.outcomes.count - 1 && outcome.state.isTerminal), "\(replay)")
            }
            // A step charged only with failures and lost workers ends by the larger cap.
            let charged = zip(lived.ends, lived.outcomes).filter {
                if case .handedBack = $0.0 { return false }
                if case .notStarted = $0.0 { return false }
                return $0.1.state == .ready || $0.1.state == .retrying
            }.count
            try #require(charged < max(maximum, lossCap), "\(charged) charged attempts under a cap of \(max(maximum, lossCap)); \(replay)")
            if let last = lived.outcomes.last { endings[last.state, default: 0] += 1 }
        }
        // The generator reaches every way a life can end.
        #expect(endings[.succeeded, default: 0] > 100 && endings[.failed, default: 0] > 100, "\(endings)")
    }

    @Test("the same end of the same attempt decides the same way")
    func deterministic() {
        let policy = RetryPolicy(maximumAttempts: 3, initialDelay: .init(seconds: 10), maximumDelay: .init(seconds: 60), multiplier: 2)
        let now = Self.start
        let first = StepLifecycle.outcome(of: .failed(error: "x", retryable: true), for: RunningStep(attempt: 2, retry: policy), now: now, jitter: 0.5)
        let second = StepLifecycle.outcome(of: .failed(error: "x", retryable: true), for: RunningStep(attempt: 2, retry: policy), now: now, jitter: 0.5)
        #expect(first == second)
        // Attempt 2 backs off 20 s: 10 fixed and half of the other 10.
        #expect(first.readyAt == now.addingTimeInterval(15) && first.state == .retrying)
        #expect(StepLifecycle.backoff(policy, after: 5, jitter: 1) == 60)
    }

    @Test("a lost worker names itself and its lease; without a retry block three losses fail the step")
    func lostWorker() {
        let now = Self.start
        let third = StepLifecycle.outcome(of: .leaseExpired(worker: "worker-h-7", lease: 2), for: RunningStep(attempt: 3, retry: nil), now: now, jitter: 0)
        #expect(third.state == .failed)
        #expect(third.reason == "worker lost 3 times (attempt 3 of 3); last attempt on worker-h-7, lease 2s")
        let second = StepLifecycle.outcome(of: .leaseExpired(worker: "worker-h-7", lease: 2), for: RunningStep(attempt: 2, retry: nil), now: now, jitter: 0)
        #expect(second.state == .ready && second.readyAt == now && second.reason == "the lease of worker-h-7 expired (attempt 2 of 3)")
    }

    @Test("a wait ends as its kind says: a sleep resumes its attempt, a backoff starts a new one, a gate fails on rejection, an approval step resumes to act on it")
    func waits() throws {
        let now = Self.start
        let sleep = try #require(StepLifecycle.outcome(of: .timeCame, waiting: .sleeping, memo: nil, now: now))
        #expect(sleep.state == .ready && sleep.resumes == true)
        let backoff = try #require(StepLifecycle.outcome(of: .timeCame, waiting: .retrying, memo: nil, now: now))
        #expect(backoff.state == .ready && backoff.resumes == false)
        let rejection = WaitEnd.approvalSettled(approved: false, by: "bob", reason: "not now", failure: nil, history: "rejected: not now")
        let gate = try #require(StepLifecycle.outcome(of: rejection, waiting: .awaitingApproval, memo: ["gate": .bool(true)], now: now))
        #expect(gate.state == .failed && gate.error == "rejected by bob: not now" && gate.reason == "rejected: not now")
        #expect(gate.memo?["decision"]?["by"] == .string("bob") && gate.memo?["gate"] == .bool(true))
        let step = try #require(StepLifecycle.outcome(of: rejection, waiting: .awaitingApproval, memo: [:], now: now))
        #expect(step.state == .ready && step.resumes == true && step.memo?["decision"]?["approved"] == .bool(false))
        let timedOut = WaitEnd.approvalSettled(approved: false, by: "vigil", reason: "no decision", failure: "approval timed out", history: "timed out")
        #expect(StepLifecycle.outcome(of: timedOut, waiting: .awaitingApproval, memo: [:], now: now)?.error == "approval timed out")
        // A wait can only be ended by what ends that kind of wait.
        #expect(StepLifecycle.outcome(of: rejection, waiting: .sleeping, memo: nil, now: now) == nil)
        #expect(StepLifecycle.outcome(of: .timeCame, waiting: .awaitingApproval, memo: nil, now: now) == nil)
    }
}
