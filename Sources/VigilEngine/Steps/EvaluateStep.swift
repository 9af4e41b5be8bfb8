import Foundation
import VigilStore
import VigilWorkflow

/// `evaluate`: applies soft and hard rules (see ``RuleSet``) to the latest computed windows of
/// the workflow's model and outputs a severity (`none`, `soft`, `hard`) with the reasons that fired.
///
/// With `slice` or `for_each_slice` (see ``SliceTarget``) the rules judge slices instead of the
/// whole window: `slices` lists each judged slice's own severity and reasons, for `escalate` to
/// keep one alert per slice; `severity` is the worst of them.
public struct EvaluateStep: WorkflowStep {
    public struct Parameters: Decodable, Sendable {
        var soft: RuleSet?
        var hard: RuleSet?
        var persistence: Persistence?
        var slice: String?
        var forEachSlice: String?
        var minSliceRows: Int?
        var sliceCorrection: String?

        enum CodingKeys: String, CodingKey {
            case soft, hard, persistence, slice
            case forEachSlice = "for_each_slice", minSliceRows = "min_slice_rows", sliceCorrection = "slice_correction"
        }
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
        let target: SliceTarget?
        do {
            target = try SliceTarget(
                slice: parameters.slice, forEachSlice: parameters.forEachSlice, minimumRows: parameters.minSliceRows,
                correction: parameters.sliceCorrection, declared: context.workflow.data?.slices ?? []
            )
        } catch {
            return .failed(error.description, retryable: false)
        }
        if let target {
            guard parameters.soft?.detector == nil, parameters.hard?.detector == nil else {
                return .failed("an online detector reads the model's whole stream, not a slice: give it an evaluate step without slice or for_each_slice", retryable: false)
            }
            return try await evaluate(
                target, parameters, persistence: persistence, count: all.map(\.of).max()!, since: championSince, model: model, in: context
            )
        }
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
            "slices": .array([]),
        ])
    }

    /// Judges each slice of `target` whose latest window is the model's latest and holds enough
    /// rows, with the rules' levels corrected for the number judged.
    private func evaluate(
        _ target: SliceTarget, _ parameters: Parameters, persistence: Persistence, count: Int, since championSince: Date?,
        model: String, in context: StepContext
    ) async throws -> StepOutcome {
        let store = MetricsStore(database: context.database)
        let since = championSince ?? .distantPast
        let latest = try await store.recentWindows(model: model, count: 1, since: since).first
        var slices = try await store.recentSliceWindows(model: model, key: target.selector.key, count: count, since: since)
        if let value = target.selector.value { slices = [value: slices[value] ?? []] }
        var lines: [String] = [], judged: [(value: String, windows: [WindowReport])] = []
        for (value, windows) in slices.sorted(by: { $0.key < $1.key }) {
            let name = target.selector.name(of: value)
            guard let latest, let newest = windows.first, newest.start == latest.start else {
                lines.append("\(name) not judged: no rows in the latest window")
                continue
            }
            guard newest.rows >= target.minimumRows else {
                lines.append("\(name) not judged: \(newest.rows) rows in the latest window, fewer than min_slice_rows \(target.minimumRows)")
                continue
            }
            judged.append((value, windows))
        }
        let factor = target.factor(tested: judged.count)
        if factor > 1 { lines.append("\(judged.count) slices judged: levels divided by \(judged.count) (slice_correction bonferroni)") }
        let soft = parameters.soft?.correctedForSlices(factor), hard = parameters.hard?.correctedForSlices(factor)
        var severity = Evaluation.Severity.none, reasons: [String] = [], drifted: Set<String> = [], findings: [JSONValue] = []
        for (value, windows) in judged {
            let name = target.selector.name(of: value)
            let corrected = windows.map { SliceTarget.corrected($0, factor: factor) }
            let evaluation = Evaluation.evaluate(windows: corrected, soft: soft, hard: hard, persistence: persistence, scope: name)
            let features = corrected[0].drift.filter { $0.columnRole == "feature" && $0.drifted }.sorted { $0.driftScore > $1.driftScore }.map(\.featureName)
            severity = max(severity, evaluation.severity)
            reasons += evaluation.reasons
            if evaluation.severity != .none { drifted.formUnion(features) }
            lines.append("\(name): severity \(evaluation.severity.rawValue) (\(corrected[0].rows) rows)")
            findings.append(.object([
                "slice": .string(name), "key": .string(target.selector.key), "value": .string(value), "severity": .string(evaluation.severity.rawValue),
                "reasons": .array(evaluation.reasons.map(JSONValue.string)), "rows": .number(Double(corrected[0].rows)),
                "drifted_features": .array(features.map(JSONValue.string)),
            ]))
        }
        await context.log(["severity \(severity.rawValue) over the slices of \(target.selector.key)"] + lines + reasons)
        return .completed([
            "severity": .string(severity.rawValue),
            "reasons": .array(reasons.map(JSONValue.string)),
            "fingerprint": .string("\(model)/\(context.workflow.name)/\(context.stepName)"),
            "drifted_features": .array(drifted.sorted().map(JSONValue.string)),
            "window_start": latest.map { .string(MonitorStep.format($0.start)) } ?? .null,
            "window_end": latest.map { .string(MonitorStep.format($0.end)) } ?? .null,
            "slices": .array(findings),
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
