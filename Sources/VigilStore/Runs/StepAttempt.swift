import Foundation

/// One stretch of a step on a worker, read from the run's history: which attempt, on which
/// worker, from when to when, and what it came to.
///
/// A durable sleep or an approval ends a stretch without ending the attempt; the stretch that
/// continues it has the same `attempt` and `resumed` set.
public struct StepAttempt: Sendable, Codable, Equatable {
    public let attempt: Int
    /// The worker that ran it (its identifier names the host and process).
    public let worker: String
    public let resumed: Bool
    public let startedAt: Date
    public private(set) var endedAt: Date?
    /// The state it left `running` for: `succeeded`, `failed`, `retrying`, `ready` (lease expired or
    /// handed back), `sleeping`, `awaiting_approval`, `cancelled`; `nil` while it runs.
    public private(set) var outcome: String?
    public private(set) var reason: String?

    /// The stretches of `step` in `events`, oldest first.
    public static func history(of step: String, in events: [RunEvent]) -> [StepAttempt] {
        var stretches: [StepAttempt] = []
        for event in events where event.step == step {
            if event.toState == StepState.running.rawValue {
                stretches.append(StepAttempt(attempt: event.attempt ?? 0, worker: event.actor, resumed: event.reason == "resumed", startedAt: event.at))
            } else if event.fromState == StepState.running.rawValue, let last = stretches.indices.last, stretches[last].outcome == nil {
                stretches[last].endedAt = event.at
                stretches[last].outcome = event.toState
                stretches[last].reason = event.reason
            }
        }
        return stretches
    }
}
