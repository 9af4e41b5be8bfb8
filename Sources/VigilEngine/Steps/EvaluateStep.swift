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
        var detected: [Evaluation.Severity: String] = [:]
        for (severity, rules) in [(Evaluation.Severity.soft, parameters.soft), (.hard, parameters.hard)] {
            guard let rule = rules?.detector else { continue }
            switch try await detect(rule, severity: severity, model: model, in: context) {
            case .success(let reason?): detected[severity] = reason
            case .success(nil): break
            case .failure(let problem): return .failed(problem.message, retryable: false)
            }
        }
        let evaluation = Evaluation.evaluate(
            windows: windows, soft: parameters.soft, hard: parameters.hard, persistence: persistence, detected: detected
        )
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

    /// A rule the step cannot run, and why.
    struct RuleProblem: Error {
        var message: String
    }

    /// Feeds the detector the stream's values since its last pass, and says why it holds when it
    /// detected a change. The stream is the champion's version's (and rows logged without one).
    private func detect(
        _ rule: OnlineDetectorRule, severity: Evaluation.Severity, model: String, in context: StepContext
    ) async throws -> Result<String?, RuleProblem> {
        guard let data = context.workflow.data else { return .failure(RuleProblem(message: "a detector rule needs the workflow's `data`")) }
        if let problem = rule.problem(for: data) { return .failure(RuleProblem(message: problem)) }
        let version = try await ModelRegistry(database: context.database).version(aliased: "champion", of: model).map(String.init) ?? ""
        let key = DetectorKey(
            model: model, version: version,
            name: "\(context.workflow.name)/\(context.stepName)/\(severity.rawValue)/\(rule.method.rawValue):\(rule.streamName)"
        )
        let now = context.clock.now()
        let found = try await DetectorStore(database: context.database).advance(
            key, stream: rule.detectorStream, source: try MonitoredSource(model: model, data: data),
            through: now,
            horizonStart: now.addingTimeInterval(-(rule.horizon ?? OnlineDetectorRule.defaultHorizon).seconds),
            now: now, runID: context.runID
        ) { saved, records in
            try rule.feed(saved, records, problem: data.problemType, now: now)
        }
        guard let last = found.last else { return .success(nil) }
        let positions = found.prefix(5).map { String($0.position) }.joined(separator: ", ") + (found.count > 5 ? ", …" : "")
        let what = rule.streamName == "errors" ? "the labelled errors" : rule.streamName
        return .success(
            "detector.\(rule.method.rawValue): \(found.count) change\(found.count == 1 ? "" : "s") in \(what) at position \(positions)"
                + " (latest: request \(last.requestID), predicted \(MonitorStep.format(last.ts)), arrived \(MonitorStep.format(last.arrivedAt)))"
        )
    }
}
