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
        let all = [persistence] + [parameters.soft?.persistence, parameters.hard?.persistence].compactMap { $0 }
        if let problem = all.lazy.compactMap(\.problem).first { return .failed(problem, retryable: false) }
        // Windows a replaced champion served say nothing about the one serving now.
        let championSince = try await ModelRegistry(database: context.database).championChanged(of: model)
        let windows = try await MetricsStore(database: context.database).recentWindows(
            model: model, count: all.map(\.of).max()!, since: championSince ?? .distantPast
        )
        let evaluation = Evaluation.evaluate(windows: windows, soft: parameters.soft, hard: parameters.hard, persistence: persistence)
        var lines = evaluation.reasons.isEmpty ? ["severity none: no rule holds"] : ["severity \(evaluation.severity.rawValue)"] + evaluation.reasons
        if let championSince { lines.append("windows considered: from \(MonitorStep.format(championSince)), when the champion last changed") }
        await context.log(lines)
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
