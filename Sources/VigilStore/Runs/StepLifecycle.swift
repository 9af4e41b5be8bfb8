import Foundation
import VigilWorkflow

/// How an attempt of a running step ended, as reported by its worker or found by maintenance.
public enum AttemptEnd: Sendable, Equatable {
    /// The step did its work.
    case succeeded(outputs: [String: JSONValue])
    /// The step failed; `retryable` when trying again might help (a timeout, a 5xx), not when
    /// it cannot (a 404, a bad parameter).
    case failed(error: String, retryable: Bool)
    /// The step suspended itself until `until`, keeping `memo` for its resumption.
    case sleeping(until: Date, memo: [String: JSONValue])
    /// The step waits for people to decide; `memo` holds what it asks for (and when the gate
    /// decides by itself).
    case awaitingApproval(memo: [String: JSONValue])
    /// The worker could not begin the step's work (its run could not be read); it is tried again
    /// at `retryAt` whatever its retry policy, since the step itself never ran.
    case notStarted(reason: String, retryAt: Date)
    /// The worker's lease lapsed: it died, or could not renew in time.
    case leaseExpired(worker: String?, lease: TimeInterval?)
    /// The worker stopped and gave the step back unfinished.
    case handedBack(by: String)
}

/// What the lifecycle knows of a running step when one of its attempts ends.
public struct RunningStep: Sendable, Equatable {
    /// The attempt that ended, from 1.
    public var attempt: Int
    /// The step's retry policy (its own or the workflow's default), `nil` for none.
    public var retry: RetryPolicy?

    public init(attempt: Int, retry: RetryPolicy?) {
        self.attempt = attempt
        self.retry = retry
    }
}

/// Where an ended attempt leaves its step: the new state and everything recorded with it.
public struct AttemptOutcome: Sendable, Equatable {
    public var state: StepState
    /// Why, for the step's event; the error too when the step failed for good.
    public var reason: String?
    /// The error stored on the step (a failure, or a failed attempt before its retry).
    public var error: String?
    /// When the step may run again (`ready`, `retrying`, `sleeping`), or the approval's timeout.
    public var readyAt: Date?
    public var outputs: [String: JSONValue]?
    public var memo: [String: JSONValue]?
    /// Whether the next claim resumes the same attempt (after a sleep or an approval) rather
    /// than starting a new one; `nil` leaves that as it was.
    public var resumes: Bool?
    /// Whether the step is done (until a retry).
    public var finished: Bool { state.isTerminal }
}

/// How a waiting step's wait ended.
public enum WaitEnd: Sendable, Equatable {
    /// A retry's backoff or a sleep is over.
    case timeCame
    /// People (or the gate's timeout) decided: `approved`, or not; `failure` when the decision
    /// fails the step whatever kind of step it is (a timeout whose action is `fail`). `history`
    /// is the line the run's history gets (`approved: …`, `timed out: …`).
    case approvalSettled(approved: Bool, by: String, reason: String, failure: String?, history: String)
}

/// What happens to a step from outside its attempts.
public enum Intervention: Sendable, Equatable {
    /// Its run is cancelled: an unfinished step ends, and a worker holding it loses its lease.
    case cancelled(reason: String)
    /// `vigil runs retry` reopens a finished step, to run again from the start.
    case reopened(reason: String)
}

/// The rules of a step's life: the one place that decides a step's next state — when an attempt
/// ends (succeeded, retries after a backoff, fails for good, sleeps, waits for approval, is handed
/// back), when a wait ends, when people intervene, when its needs finish — and its run's state.
/// Pure: the store applies the outcome in the transaction that records it, conditioned on the
/// state it was computed from. (A claim, ready to running, is made in the claiming statement.)
///
/// Every way an attempt can end counts against `max_attempts`: a failure, a timeout (a
/// retryable failure) and a lost worker alike. A lost worker fails the step after
/// ``RetryPolicy/attemptsBeforeWorkerLossFails(_:)`` attempts, at least 3 even without a retry
/// block. A step handed back by a draining worker is not charged.
public enum StepLifecycle {
    /// The outcome of `end` for `step` at `now`; `jitter` in 0...1 picks the random half of the
    /// retry backoff (callers pass a random number; tests pass a fixed one).
    public static func outcome(of end: AttemptEnd, for step: RunningStep, now: Date, jitter: Double) -> AttemptOutcome {
        switch end {
        case let .succeeded(outputs):
            return AttemptOutcome(state: .succeeded, outputs: outputs, resumes: false)
        case let .failed(error, retryable):
            let policy = step.retry ?? RetryPolicy()
            guard retryable, step.attempt < policy.maximumAttempts else {
                return AttemptOutcome(state: .failed, reason: error, error: error, resumes: false)
            }
            let retryAt = now.addingTimeInterval(backoff(policy, after: step.attempt, jitter: jitter))
            let reason = "attempt \(step.attempt) failed, retrying at \(ISO8601DateFormatter().string(from: retryAt)): \(error)"
            return AttemptOutcome(state: .retrying, reason: reason, error: error, readyAt: retryAt, resumes: false)
        case let .sleeping(until, memo):
            return AttemptOutcome(state: .sleeping, reason: "sleeping until \(ISO8601DateFormatter().string(from: until))", readyAt: until, memo: memo)
        case let .awaitingApproval(memo):
            // ready_at holds the approval's timeout, for the maintenance pass that decides it.
            return AttemptOutcome(state: .awaitingApproval, reason: "waiting for approval", readyAt: ApprovalRequest.timeout(inMemo: memo), memo: memo)
        case let .notStarted(reason, retryAt):
            return AttemptOutcome(state: .retrying, reason: "attempt \(step.attempt) could not start, retrying at \(ISO8601DateFormatter().string(from: retryAt)): \(reason)", error: reason, readyAt: retryAt, resumes: false)
        case let .leaseExpired(worker, lease):
            let cap = RetryPolicy.attemptsBeforeWorkerLossFails(step.retry)
            let lost = worker ?? "a worker"
            guard step.attempt < cap else {
                let leaseText = lease.map { ", lease \(WorkflowDuration(seconds: $0))" } ?? ""
                let reason = "worker lost \(step.attempt) time\(step.attempt == 1 ? "" : "s") (attempt \(step.attempt) of \(cap)); last attempt on \(lost)\(leaseText)"
                return AttemptOutcome(state: .failed, reason: reason, error: reason, resumes: false)
            }
            // The lost worker ended the attempt, resumed or not: the next claim starts a new one,
            // so losses count toward the cap even for a step that slept or waited for approval.
            return AttemptOutcome(state: .ready, reason: "the lease of \(lost) expired (attempt \(step.attempt) of \(cap))", readyAt: now, resumes: false)
        case let .handedBack(worker):
            return AttemptOutcome(state: .ready, reason: "handed back by \(worker) while draining", readyAt: now)
        }
    }

    /// The outcome of `end` for a step waiting in `state` with `memo`, at `now`; `nil` when
    /// `end` does not end that kind of wait (a decision on a step that is not awaiting approval).
    public static func outcome(of end: WaitEnd, waiting state: StepState, memo: [String: JSONValue]?, now: Date) -> AttemptOutcome? {
        switch (end, state) {
        case (.timeCame, .retrying):
            return AttemptOutcome(state: .ready, reason: "its backoff ended", readyAt: now, resumes: false)
        case (.timeCame, .sleeping):
            return AttemptOutcome(state: .ready, reason: "its wake-up time came", readyAt: now, resumes: true)
        case let (.approvalSettled(approved, actor, reason, failure, history), .awaitingApproval):
            var memo = memo ?? [:]
            memo["decision"] = .object([
                "approved": .bool(approved), "by": .string(actor), "reason": .string(reason), "at": .string(ISO8601DateFormatter().string(from: now)),
            ])
            // A gate before a step fails the step on rejection; a step that asked for approval
            // itself (an `approval` step, a promotion) resumes either way, to act on the decision.
            let isGate = memo["gate"] == .bool(true)
            if failure != nil || (!approved && isGate) {
                return AttemptOutcome(state: .failed, reason: history, error: failure ?? "rejected by \(actor): \(reason)", memo: memo)
            }
            return AttemptOutcome(state: .ready, reason: history, readyAt: now, memo: memo, resumes: true)
        default:
            return nil
        }
    }

    /// The outcome of `intervention` on a step in `state`; `nil` when it does not apply (a
    /// finished step is not cancelled, an unfinished one not reopened).
    public static func outcome(of intervention: Intervention, in state: StepState) -> AttemptOutcome? {
        switch intervention {
        case let .cancelled(reason):
            guard !state.isTerminal else { return nil }
            return AttemptOutcome(state: .cancelled, reason: reason, error: reason, resumes: false)
        case let .reopened(reason):
            guard state.isTerminal else { return nil }
            return AttemptOutcome(state: .pending, reason: reason, resumes: false)
        }
    }

    /// Exponential backoff after attempt `attempt`, capped, with equal jitter: half the delay
    /// fixed, half `jitter` of the other half.
    public static func backoff(_ policy: RetryPolicy, after attempt: Int, jitter: Double) -> TimeInterval {
        let exponential = policy.initialDelay.seconds * pow(policy.multiplier, Double(max(0, attempt - 1)))
        let delay = min(policy.maximumDelay.seconds, exponential)
        return delay / 2 + min(1, max(0, jitter)) * delay / 2
    }
}
