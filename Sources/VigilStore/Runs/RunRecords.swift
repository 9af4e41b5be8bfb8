import Foundation
import VigilWorkflow

/// What started a run.
public struct RunTrigger: Sendable, Hashable, Codable {
    public var kind: Trigger.Kind
    /// The alert, event or webhook name.
    public var name: String?
    public var labels: [String: String]
    /// The alert fingerprint or other identity of the incident, when there is one.
    public var fingerprint: String?
    /// The person or process that asked for the run.
    public var actor: String

    public init(kind: Trigger.Kind, name: String? = nil, labels: [String: String] = [:], fingerprint: String? = nil, actor: String) {
        self.kind = kind
        self.name = name
        self.labels = labels
        self.fingerprint = fingerprint
        self.actor = actor
    }

    /// The trigger as expressions see it (`trigger.kind`, `trigger.labels.severity`, …).
    public var expressionValue: [String: JSONValue] {
        var value: [String: JSONValue] = [
            "kind": .string(kind.rawValue), "actor": .string(actor),
            "labels": .object(labels.mapValues(JSONValue.string)),
        ]
        if let name { value["name"] = .string(name) }
        if let fingerprint { value["fingerprint"] = .string(fingerprint) }
        return value
    }
}

/// A run as listed.
public struct RunSummary: Sendable {
    public let id: Int
    public let workflow: String
    public let workflowVersion: Int
    public let state: RunState
    public let trigger: RunTrigger
    public let createdAt: Date
    public let startedAt: Date?
    public let finishedAt: Date?
    public let error: String?
}

/// One step of a run, as stored.
public struct StepRecord: Sendable {
    public let runID: Int
    public let name: String
    public let type: String
    public let state: StepState
    public let needs: [String]
    public let attempt: Int
    public let readyAt: Date?
    public let leaseOwner: String?
    public let startedAt: Date?
    public let finishedAt: Date?
    public let outputs: [String: JSONValue]?
    public let error: String?
    public let idempotencyKey: String
}

/// One entry of a run's history: a state change, who made it, and why.
public struct RunEvent: Sendable {
    public let id: Int
    public let runID: Int
    /// `nil` for a change of the run itself.
    public let step: String?
    public let fromState: String?
    public let toState: String
    public let attempt: Int?
    public let actor: String
    public let reason: String?
    public let at: Date
}

/// What `createRun` did.
public enum RunCreation: Sendable, Equatable {
    /// A new run.
    case created(Int)
    /// A run with the same idempotency key already exists: that run.
    case existing(Int)
    /// Not started: the concurrency policy is `skip` and this run is going.
    case skipped(becauseOf: Int)

    public var runID: Int {
        switch self {
        case let .created(id), let .existing(id), let .skipped(id): id
        }
    }
}
