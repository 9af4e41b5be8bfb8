import Foundation
import VigilStore
import VigilWorkflow

/// `evaluate`: applies soft and hard rules (see ``RuleSet``) to the latest computed windows of
/// the workflow's model and outputs a severity (`none`, `soft`, `hard`) with the reasons that fired.
public struct EvaluateStep: WorkflowStep {
    public struct Parameters: Decodable, Sendable {
        var soft: RuleSet?
        var hard: RuleSet?
        var persistence: Persistence?
    }

    public static var schema: StepSchema { StepCatalog.builtIn.schemas["evaluate"]! }

    public init() {}

    public func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        guard let model = context.workflow.model else {
            return .failed("the evaluate step needs the workflow to declare `model`", retryable: false)
        }
        let persistence = parameters.persistence ?? .latestOnly
        guard persistence.windows >= 1, persistence.of >= persistence.windows else {
            return .failed("persistence needs 1 ≤ windows ≤ of (got \(persistence.windows) of \(persistence.of))", retryable: false)
        }
        let windows = try await MetricsStore(database: context.database).recentWindows(model: model, count: persistence.of)
        let evaluation = Evaluation.evaluate(windows: windows, soft: parameters.soft, hard: parameters.hard, persistence: persistence)
        await context.log(evaluation.reasons.isEmpty ? ["severity none: no rule holds"] : ["severity \(evaluation.severity.rawValue)"] + evaluation.reasons)
        let latest = windows.first
        let drifted = latest?.drift.filter { $0.columnRole == "feature" && $0.drifted }.sorted { $0.driftScore > $1.driftScore }.map(\.featureName) ?? []
        return .completed([
            "severity": .string(evaluation.severity.rawValue),
            "reasons": .array(evaluation.reasons.map(JSONValue.string)),
            "fingerprint": .string("\(model)/\(context.workflow.name)/\(context.stepName)"),
            "drifted_features": .array(drifted.map(JSONValue.string)),
            "window_start": latest.map { .string(MonitorStep.format($0.start)) } ?? .null,
            "window_end": latest.map { .string(MonitorStep.format($0.end)) } ?? .null,
        ])
    }
}
