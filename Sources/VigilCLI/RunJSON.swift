import Foundation
import VigilStore
import VigilWorkflow

/// A run as `vigil runs list --format json` and `runs show --format json` print it.
struct RunJSON: Encodable {
    let id: Int
    let workflow: String
    let version: Int
    let state: String
    let trigger: RunTrigger
    let createdAt: Date
    let startedAt: Date?
    let finishedAt: Date?
    let error: String?

    init(_ run: RunSummary) {
        id = run.id
        workflow = run.workflow
        version = run.workflowVersion
        state = run.state.rawValue
        trigger = run.trigger
        createdAt = run.createdAt
        startedAt = run.startedAt
        finishedAt = run.finishedAt
        error = run.error
    }

    enum CodingKeys: String, CodingKey {
        case id, workflow, version, state, trigger, error
        case createdAt = "created_at", startedAt = "started_at", finishedAt = "finished_at"
    }
}

/// A step with its attempts, for `vigil runs show --format json`.
struct StepJSON: Encodable {
    let name: String
    let type: String
    let state: String
    let attempts: Int
    /// Why it is in its state: its error when it failed.
    let reason: String?
    let startedAt: Date?
    let finishedAt: Date?
    let outputs: [String: JSONValue]?
    let history: [AttemptJSON]

    init(_ step: StepRecord, attempts history: [StepAttempt]) {
        name = step.name
        type = step.type
        state = step.state.rawValue
        attempts = step.attempt
        reason = step.error
        startedAt = step.startedAt
        finishedAt = step.finishedAt
        outputs = step.outputs
        self.history = history.map(AttemptJSON.init)
    }

    enum CodingKeys: String, CodingKey {
        case name, type, state, attempts, reason, outputs
        case startedAt = "started_at", finishedAt = "finished_at", history = "attempt_history"
    }
}

/// One stretch of a step on a worker.
struct AttemptJSON: Encodable {
    let attempt: StepAttempt

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(attempt.attempt, forKey: .attempt)
        try container.encode(attempt.worker, forKey: .worker)
        try container.encode(attempt.resumed, forKey: .resumed)
        try container.encode(attempt.startedAt, forKey: .startedAt)
        try container.encode(attempt.endedAt, forKey: .endedAt)
        try container.encode(attempt.outcome, forKey: .outcome)
        try container.encode(attempt.reason, forKey: .reason)
    }

    enum Keys: String, CodingKey {
        case attempt, worker, resumed, outcome, reason
        case startedAt = "started_at", endedAt = "ended_at"
    }
}

/// `vigil runs show --format json`.
struct RunDetailJSON: Encodable {
    let run: RunJSON
    let steps: [StepJSON]
}
