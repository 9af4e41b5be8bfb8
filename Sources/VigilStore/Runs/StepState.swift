/// The life of one step of a run. The legal transitions are ``transitions``; the database's
/// `step_transitions` table holds the same pairs and a trigger refuses any other change.
public enum StepState: String, Sendable, Codable, CaseIterable {
    /// Waiting for the steps it needs.
    case pending
    /// May be claimed by a worker from `ready_at` on.
    case ready
    /// Leased by a worker.
    case running
    /// Failed an attempt; ready again after its backoff.
    case retrying
    /// Suspended until a time (a durable sleep or timer).
    case sleeping
    /// Waiting for a person to approve or reject.
    case awaitingApproval = "awaiting_approval"
    case succeeded
    case failed
    /// Not run: its condition was false, or what it needs did not succeed.
    case skipped
    case cancelled

    /// Every legal change of state. `running → ready` hands a step back (a drained worker, an
    /// expired lease); `terminal → pending` is `vigil runs retry`.
    public static let transitions: [StepState: Set<StepState>] = [
        .pending: [.ready, .skipped, .cancelled],
        .ready: [.running, .cancelled],
        .running: [.succeeded, .failed, .retrying, .sleeping, .awaitingApproval, .ready, .cancelled],
        .retrying: [.ready, .cancelled],
        .sleeping: [.ready, .cancelled],
        .awaitingApproval: [.ready, .failed, .cancelled],
        .succeeded: [.pending],
        .failed: [.pending],
        .skipped: [.pending],
        .cancelled: [.pending],
    ]

    public func canChange(to next: StepState) -> Bool {
        Self.transitions[self]?.contains(next) ?? false
    }

    /// Whether the step is done (until a retry).
    public var isTerminal: Bool {
        switch self {
        case .succeeded, .failed, .skipped, .cancelled: true
        default: false
        }
    }

    /// Suspended on time or a person, with no worker holding it.
    public var isWaiting: Bool {
        self == .retrying || self == .sleeping || self == .awaitingApproval
    }
}

/// The life of a run. As for steps, the database's `run_transitions` table holds the same pairs.
public enum RunState: String, Sendable, Codable, CaseIterable {
    /// Created; no step has started (or it waits behind another run with the same key).
    case queued
    /// At least one step is ready or running.
    case running
    /// Every unfinished step is sleeping, retrying later, or awaiting approval.
    case waiting
    case succeeded
    case failed
    case cancelled

    /// Every legal change of state; `terminal → running` is `vigil runs retry`.
    public static let transitions: [RunState: Set<RunState>] = [
        .queued: [.running, .succeeded, .cancelled],
        .running: [.waiting, .succeeded, .failed, .cancelled],
        .waiting: [.running, .succeeded, .failed, .cancelled],
        .succeeded: [.running],
        .failed: [.running],
        .cancelled: [.running],
    ]

    public func canChange(to next: RunState) -> Bool {
        Self.transitions[self]?.contains(next) ?? false
    }

    public var isTerminal: Bool {
        self == .succeeded || self == .failed || self == .cancelled
    }

    public var isActive: Bool { !isTerminal }
}
