import Foundation
import VigilWorkflow

/// A registered version of a model, with its lineage.
public struct ModelVersion: Sendable {
    public let model: String
    public let version: Int
    public let artifactURI: String
    public let checksum: String?
    public let framework: String
    public let trainingStart: Date?
    public let trainingEnd: Date?
    public let trainingRows: Int?
    public let parameters: [String: JSONValue]
    public let metrics: [String: JSONValue]
    public let parentVersion: Int?
    public let runID: Int?
    public let step: String?
    public let archived: Bool
    public let createdAt: Date
    public let createdBy: String
}

/// What registering a version records.
public struct NewModelVersion: Sendable {
    public var artifactURI: String
    public var checksum: String?
    public var framework: String
    public var trainingStart: Date?
    public var trainingEnd: Date?
    public var trainingRows: Int?
    public var parameters: [String: JSONValue]
    public var metrics: [String: JSONValue]
    public var parentVersion: Int?
    public var runID: Int?
    public var step: String?
    /// A retried step registering again gets the version it registered the first time.
    public var idempotencyKey: String?

    public init(
        artifactURI: String, checksum: String? = nil, framework: String, trainingStart: Date? = nil, trainingEnd: Date? = nil,
        trainingRows: Int? = nil, parameters: [String: JSONValue] = [:], metrics: [String: JSONValue] = [:], parentVersion: Int? = nil,
        runID: Int? = nil, step: String? = nil, idempotencyKey: String? = nil
    ) {
        self.artifactURI = artifactURI
        self.checksum = checksum
        self.framework = framework
        self.trainingStart = trainingStart
        self.trainingEnd = trainingEnd
        self.trainingRows = trainingRows
        self.parameters = parameters
        self.metrics = metrics
        self.parentVersion = parentVersion
        self.runID = runID
        self.step = step
        self.idempotencyKey = idempotencyKey
    }
}

/// A name pointing at a version: `champion`, `challenger`, `canary` (with its traffic share), `previous`, or a user's own.
public struct ModelAlias: Sendable {
    public let model: String
    public let alias: String
    public let version: Int
    public let weight: Double?
    public let updatedAt: Date
    public let updatedBy: String
}

/// One entry of a model's changelog.
public struct ChangelogEntry: Sendable {
    public let id: Int
    public let model: String
    public let at: Date
    public let actor: String
    public let action: String
    public let version: Int?
    public let alias: String?
    public let fromVersion: Int?
    public let reason: String?
    public let runID: Int?
    public let details: [String: JSONValue]
}

/// What the serving layer routes for a model.
public struct ModelRouting: Sendable, Codable, Equatable {
    public let model: String
    public let championVersion: Int?
    public let canaryVersion: Int?
    /// The share of traffic (0–1) the canary takes.
    public let canaryWeight: Double
    /// The challenger, served in shadow.
    public let shadowVersion: Int?
    public let updatedAt: Date?

    enum CodingKeys: String, CodingKey {
        case model
        case championVersion = "champion_version", canaryVersion = "canary_version", canaryWeight = "canary_weight"
        case shadowVersion = "shadow_version", updatedAt = "updated_at"
    }
}

/// A canary promotion in progress or done.
public struct Promotion: Sendable {
    public enum State: String, Sendable {
        case canary
        case awaitingApproval = "awaiting_approval"
        case promoted
        case rolledBack = "rolled_back"
    }

    public let id: Int
    public let model: String
    public let version: Int
    /// The champion when the promotion began: the one it replaces, and the one a rollback keeps.
    public let championVersion: Int?
    public let runID: Int?
    public let state: State
    public let stagePercent: Double
    public let startedAt: Date
    public let finishedAt: Date?
    public let reason: String?
}

/// A shadow comparison's result, as recorded.
public struct ShadowComparison: Sendable {
    public var model: String
    public var championVersion: Int
    public var challengerVersion: Int
    public var runID: Int?
    /// `logged` or `replay`.
    public var source: String
    public var windowStart: Date
    public var windowEnd: Date
    public var samples: Int
    public var metric: String
    public var championValue: Double?
    public var challengerValue: Double?
    public var lift: Double?
    public var liftLow: Double?
    public var liftHigh: Double?
    /// `mcnemar` or `paired_t`.
    public var test: String
    public var pValue: Double?
    public var agreement: Double?
    public var championLatencyP95: Double?
    public var challengerLatencyP95: Double?
    /// `promote` or `reject`.
    public var decision: String
    public var reasons: [String]

    public init(
        model: String, championVersion: Int, challengerVersion: Int, runID: Int?, source: String, windowStart: Date, windowEnd: Date,
        samples: Int, metric: String, test: String, decision: String, reasons: [String]
    ) {
        self.model = model
        self.championVersion = championVersion
        self.challengerVersion = challengerVersion
        self.runID = runID
        self.source = source
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.samples = samples
        self.metric = metric
        self.test = test
        self.decision = decision
        self.reasons = reasons
    }
}
