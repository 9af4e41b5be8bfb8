import Foundation
import Logging
import VigilStatistics
import VigilStore
import VigilWorkflow

/// A kind of step a workflow can use: `monitor`, `retrain`, `command`, or a library user's own.
///
/// A step type declares its ``schema`` (what `with:` accepts and what it outputs, checked by
/// `vigil validate`), decodes its ``Parameters`` from `with:`, and runs:
///
/// ```swift
/// struct Greet: WorkflowStep {
///     struct Parameters: Decodable, Sendable { let name: String }
///     static let schema = StepSchema(typeName: "greet", summary: "Say hello.",
///                                    parameters: [.init("name", .string, required: true)],
///                                    outputs: [.init("greeting", .string)])
///     func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
///         .completed(["greeting": .string("hello \(parameters.name)")])
///     }
/// }
/// ```
public protocol WorkflowStep: Sendable {
    associatedtype Parameters: Decodable & Sendable

    static var schema: StepSchema { get }

    /// Runs one attempt. Throwing counts as a failed attempt that may be retried; return
    /// ``StepOutcome/failed(_:retryable:)`` to fail with a reason, or suspend the step.
    func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome
}

extension WorkflowStep {
    public static var typeName: String { schema.typeName }
}

/// What one attempt of a step came to.
public enum StepOutcome: Sendable {
    /// Done, with outputs for downstream steps (`steps.<name>.outputs.<key>`).
    case completed([String: JSONValue])
    /// Failed. A retryable failure is tried again per the step's retry policy.
    case failed(String, retryable: Bool)
    /// Suspended until `until` (a durable sleep or timer); `memo` comes back in ``StepContext/memo``.
    case suspended(until: Date, memo: [String: JSONValue])
    /// Waiting for a person; the decision comes back in ``StepContext/approval``.
    case awaitingApproval(memo: [String: JSONValue])
}

/// A person's decision on a step that waited for approval.
public struct ApprovalDecision: Sendable {
    public let approved: Bool
    public let by: String
    public let reason: String
}

/// Everything a running step may use.
public struct StepContext: Sendable {
    public let runID: Int
    public let stepName: String
    /// 1 for the first attempt; the same when the step resumes after a sleep or an approval.
    public let attempt: Int
    /// The same for every attempt of this step in this run: pass it to services that deduplicate,
    /// so a retry after a crash cannot page or train twice.
    public let idempotencyKey: String
    public let workflow: WorkflowSpec
    public let workflowVersion: Int
    public let params: [String: JSONValue]
    public let trigger: RunTrigger
    /// What the step kept when it last suspended itself; `nil` on a fresh attempt.
    public let memo: [String: JSONValue]?
    public let database: Database
    public let clock: any EngineClock
    public let logger: Logger
    let logSink: StepLogSink

    /// Whether this run of the step resumes it after a sleep or an approval.
    public var isResuming: Bool { memo != nil }

    /// The approval decision, when the step resumed after one.
    public var approval: ApprovalDecision? {
        guard case let .object(decision)? = memo?["decision"] else { return nil }
        return ApprovalDecision(
            approved: decision["approved"] == .bool(true), by: decision["by"]?.stringValue ?? "", reason: decision["reason"]?.stringValue ?? ""
        )
    }

    /// Writes lines to the step's log (`vigil runs show RUN --logs`).
    public func log(_ lines: [String], stream: String = "log") async {
        await logSink.append(lines, stream: stream)
    }

    /// This run as a node of the lineage graph.
    public var runNode: LineageNode { LineageNode(kind: "run", id: String(runID)) }

    /// Records an artifact this step produced (a model file, a report) and an edge from this run to it.
    ///
    /// - Returns: the artifact's node, to link further lineage to.
    @discardableResult
    public func recordArtifact(
        name: String, kind: String, uri: String, checksum: String? = nil, metadata: [String: JSONValue] = [:]
    ) async throws -> LineageNode {
        let lineage = LineageStore(database: database)
        let id = try await lineage.recordArtifact(
            runID: runID, step: stepName, attempt: attempt, name: name, kind: kind, uri: uri, checksum: checksum, metadata: metadata, now: clock.now()
        )
        let node = LineageNode(kind: "artifact", id: String(id))
        try await lineage.recordEdge(from: runNode, to: node, relation: "produced", runID: runID, step: stepName, now: clock.now())
        return node
    }

    /// The features `model` is declared with: this workflow's `data`, else the model's monitoring
    /// workflow's; `nil` when neither declares any.
    public func declaredFeatures(of model: String) async throws -> [ColumnSchema]? {
        if let features = workflow.data?.features { return features }
        return try await WorkflowStore(database: database).monitoringWorkflow(forModel: model)?.spec.data?.features
    }

    /// Records that `from` led to `to` (a data window to a drift finding, an alert to this run, …).
    public func recordLineage(from: LineageNode, to: LineageNode, relation: String) async throws {
        try await LineageStore(database: database).recordEdge(from: from, to: to, relation: relation, runID: runID, step: stepName, now: clock.now())
    }
}
