import Foundation
import VigilStatistics
import VigilStore
import VigilWorkflow

/// `shadow_compare`: judges the challenger against the champion on the same requests of the last
/// `window`, and decides `promote` or `reject` by `promote_if`.
///
/// The requests come from the serving layer's shadow predictions (role `shadow` in the inference
/// log, the champion's request ids) when there are at least `min_samples` of them with labels.
/// With `wait_for_samples`, the step waits for them (durably, checking every `check_every`) up to
/// that long. Otherwise, or once the wait is over, Vigil replays the window's labelled requests
/// through both models: with the `scorer` program when one is given (see ``ReplayScorer``), else
/// itself when it can score both (built-in artifacts). When it can do neither (an external
/// model, no scorer), the decision is `reject` with "not enough shadow traffic: n of m". A
/// rejected challenger loses the `challenger` alias, and the changelog says why. Outputs both
/// models' metric on the same rows, the lift with a bootstrap interval, McNemar's test
/// (classifiers) or a paired t-test (regressors), the agreement rate and both latencies' P95
/// (logged requests only).
public struct ShadowCompareStep: WorkflowStep {
    public struct Parameters: Decodable, Sendable {
        let challenger: Int?
        let window: WorkflowDuration?
        let metric: String?
        let promoteIf: Rules?
        let bootstrap: Int?
        let waitForSamples: WorkflowDuration?
        let checkEvery: WorkflowDuration?
        let scorer: Scorer?

        enum CodingKeys: String, CodingKey {
            case challenger, window, metric, bootstrap, scorer
            case promoteIf = "promote_if", waitForSamples = "wait_for_samples", checkEvery = "check_every"
        }
    }

    /// A program that scores the replay window for a model Vigil cannot score itself.
    struct Scorer: Decodable, Sendable {
        let command: [String]
    }

    /// When the challenger is promoted: every rule must hold.
    struct Rules: Decodable, Sendable {
        var minSamples: Int?
        var minLift: Double?
        var maxLatencyRegression: Double?
        var significance: Double?

        enum CodingKeys: String, CodingKey {
            case minSamples = "min_samples", minLift = "min_lift", maxLatencyRegression = "max_latency_regression", significance
        }
    }

    public static var schema: StepSchema { StepCatalog.builtIn.schemas["shadow_compare"]! }

    /// Where replay files go (under `<artifacts>/<model>/runs/`).
    let artifacts: URL?

    /// - Parameter artifacts: default `$VIGIL_ARTIFACTS`, else `$VIGIL_HOME/artifacts` (`.vigil/artifacts`).
    public init(artifacts: URL? = nil) {
        self.artifacts = artifacts
    }

    public func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        guard let model = context.workflow.model else { return .failed("the shadow_compare step needs the workflow to declare `model`", retryable: false) }
        let registry = ModelRegistry(database: context.database)
        guard let champion = try await registry.version(aliased: "champion", of: model) else {
            return .failed("model \(model) has no champion to compare with; `vigil models alias \(model) champion VERSION` sets one", retryable: false)
        }
        let aliased = try await registry.version(aliased: "challenger", of: model)
        guard let challenger = parameters.challenger ?? aliased else {
            return .failed("no challenger: pass `challenger:` or set the challenger alias", retryable: false)
        }
        guard challenger != champion else { return .failed("the challenger is the champion (version \(champion))", retryable: false) }
        let classification = context.workflow.data?.problemType != .regression
        let metric = parameters.metric ?? (classification ? "f1" : "rmse")
        guard (classification ? PairedEvaluation.classificationMetrics : PairedEvaluation.regressionMetrics).contains(metric) else {
            let supported = (classification ? PairedEvaluation.classificationMetrics : PairedEvaluation.regressionMetrics).sorted().joined(separator: ", ")
            return .failed("metric \(metric) is not supported for \(classification ? "classification" : "regression") shadow comparisons (use \(supported))", retryable: false)
        }
        let rules = parameters.promoteIf ?? Rules()
        let minimum = rules.minSamples ?? 200
        let end = context.clock.now(), start = end.addingTimeInterval(-(parameters.window?.seconds ?? 6 * 3_600))
        let actor = "workflow:\(context.workflow.name)#\(context.runID)"
        let waitingSince = context.memo?["waiting_since"]?.stringValue.flatMap { ISO8601DateFormatter.precise.date(from: $0) }
        if waitingSince == nil {
            try await registry.log("shadow_started", model: model, version: challenger, reason: "compared with champion \(champion) on \(MonitorStep.format(start)) to \(MonitorStep.format(end))",
                                   runID: context.runID, actor: actor, now: end)
        }

        let data = ServingData(database: context.database)
        var source = "logged"
        var latencies: (Double?, Double?) = (nil, nil)
        var pairs: [PairedEvaluation.Pair]
        let logged = try await data.shadowPairs(model: model, champion: champion, challenger: challenger, from: start, to: end)
        var shortfall: String?
        if logged.count >= minimum {
            pairs = logged.map { PairedEvaluation.Pair(label: $0.label, champion: $0.championPrediction, challenger: $0.challengerPrediction) }
            latencies = (Self.p95(logged.compactMap(\.championLatency)), Self.p95(logged.compactMap(\.challengerLatency)))
        } else if let wait = parameters.waitForSamples, end < (waitingSince ?? end).addingTimeInterval(wait.seconds) {
            // Shadow answers (and their labels) are still coming: look again later, durably.
            let since = waitingSince ?? end
            let check = min(parameters.checkEvery?.seconds ?? 300, since.addingTimeInterval(wait.seconds).timeIntervalSince(end))
            await context.log(["\(logged.count) of \(minimum) labelled shadow answers so far; checking again in \(Int(check.rounded(.up)))s"])
            return .suspended(until: end.addingTimeInterval(max(1, check)), memo: ["waiting_since": .string(ISO8601DateFormatter.precise.string(from: since))])
        } else {
            let first = try await registry.version(champion, of: model), second = try await registry.version(challenger, of: model)
            if let scorer = parameters.scorer {
                source = "command"
                let rows = try await data.labelledRows(model: model, from: start, to: end)
                do {
                    pairs = try await replay(rows, champion: first, challenger: second, with: scorer.command, from: start, to: end, context: context)
                } catch let error as ScoringError {
                    return .failed(error.description, retryable: true)
                }
            } else if let models = try? (BuiltinModel.load(uri: first.artifactURI, checksum: first.checksum), BuiltinModel.load(uri: second.artifactURI, checksum: second.checksum)) {
                source = "replay"
                let rows = try await data.labelledRows(model: model, from: start, to: end)
                pairs = rows.map { row in
                    PairedEvaluation.Pair(label: row.label, champion: models.0.predict(row.features).prediction, challenger: models.1.predict(row.features).prediction)
                }
            } else {
                // An external model Vigil cannot score: its shadow answers are all there is.
                pairs = logged.map { PairedEvaluation.Pair(label: $0.label, champion: $0.championPrediction, challenger: $0.challengerPrediction) }
                let waited = parameters.waitForSamples.map { " after waiting \($0)" } ?? ""
                shortfall = "not enough shadow traffic: \(logged.count) of \(minimum) labelled shadow answers\(waited) (log them with role shadow, or lower min_samples)"
            }
        }
        await context.log(["comparing champion \(champion) and challenger \(challenger) on \(pairs.count) \(source) requests by \(metric)"])

        var comparison = ShadowComparison(model: model, championVersion: champion, challengerVersion: challenger, runID: context.runID, source: source,
                                          windowStart: start, windowEnd: end, samples: pairs.count, metric: metric,
                                          test: classification ? "mcnemar" : "paired_t", decision: "reject", reasons: [])
        var reasons: [String] = []
        var promote = pairs.count >= minimum
        if let shortfall {
            reasons.append(shortfall)
        } else if !promote {
            reasons.append("\(pairs.count) labelled requests, fewer than min_samples \(minimum)")
        }
        if pairs.count >= 2 {
            let evaluation = PairedEvaluation(pairs: pairs, metric: metric)
            comparison.championValue = evaluation.championValue()
            comparison.challengerValue = evaluation.challengerValue()
            let lift = evaluation.lift(pairs.indices)
            comparison.lift = lift
            comparison.agreement = evaluation.agreement
            if let interval = try? PairedComparison.bootstrapInterval(count: pairs.count, resamples: parameters.bootstrap ?? 1_000, seed: 1, statistic: evaluation.lift) {
                comparison.liftLow = interval.low
                comparison.liftHigh = interval.high
            }
            let (test, p) = try evaluation.test()
            comparison.test = test
            comparison.pValue = p
            let minimumLift = rules.minLift ?? 0
            if !(lift > minimumLift || (minimumLift > 0 && lift >= minimumLift)) {
                promote = false
                reasons.append("lift \(Self.text(lift)) in \(metric) is not above min_lift \(Self.text(minimumLift))")
            }
            if let significance = rules.significance, !(p < significance) {
                promote = false
                reasons.append("\(test) p = \(Self.text(p)), not below significance \(Self.text(significance))")
            }
            if promote { reasons.append("\(metric) \(Self.text(comparison.championValue ?? .nan)) → \(Self.text(comparison.challengerValue ?? .nan)) (lift \(Self.text(lift)), \(test) p = \(Self.text(p)))") }
        }
        comparison.championLatencyP95 = latencies.0
        comparison.challengerLatencyP95 = latencies.1
        if let limit = rules.maxLatencyRegression, let first = latencies.0, let second = latencies.1, first > 0, second / first - 1 > limit {
            promote = false
            reasons.append("latency P95 \(Self.text(first)) → \(Self.text(second)) ms regresses more than \(Self.text(limit * 100))%")
        }
        comparison.decision = promote ? "promote" : "reject"
        comparison.reasons = reasons
        let id = try await registry.record(comparison, actor: actor, now: context.clock.now())
        let node = LineageNode(kind: "shadow_comparison", id: String(id))
        try await context.recordLineage(from: LineageNode(kind: "model_version", id: "\(model)@\(challenger)"), to: node, relation: "compared_in")
        try await context.recordLineage(from: context.runNode, to: node, relation: "produced")
        await context.log(["decision: \(comparison.decision): " + reasons.joined(separator: "; ")])
        if !promote, aliased == challenger {
            try await registry.moveAlias("challenger", of: model, to: nil, actor: actor, reason: "rejected in shadow comparison \(id): " + reasons.joined(separator: "; "),
                                         runID: context.runID, now: context.clock.now())
            await context.log(["version \(challenger) is no longer the challenger"])
        }
        func number(_ value: Double?) -> JSONValue { value.map { $0.isFinite ? .number($0) : .null } ?? .null }
        return .completed([
            "decision": .string(comparison.decision), "lift": number(comparison.lift), "p_value": number(comparison.pValue),
            "challenger": .number(Double(challenger)), "champion": .number(Double(champion)), "samples": .number(Double(pairs.count)),
            "champion_value": number(comparison.championValue), "challenger_value": number(comparison.challengerValue),
            "lift_low": number(comparison.liftLow), "lift_high": number(comparison.liftHigh), "agreement": number(comparison.agreement),
            "source": .string(source), "comparison": .number(Double(id)), "reasons": .array(reasons.map(JSONValue.string)),
        ])
    }

    /// Both models' answers to `rows` from the scorer program, paired with the rows' labels.
    private func replay(_ rows: [ServingData.LabelledRow], champion: ModelVersion, challenger: ModelVersion, with command: [String],
                        from start: Date, to end: Date, context: StepContext) async throws -> [PairedEvaluation.Pair] {
        // A request is replayed once, even if it was logged under two roles.
        var seen = Set<String>()
        let rows = rows.filter { seen.insert($0.requestID).inserted }
        guard !rows.isEmpty else { return [] }
        let folder = RetrainStep.artifactDirectory(artifacts).appendingPathComponent(champion.model)
            .appendingPathComponent("runs/\(context.runID)-\(context.stepName)-\(context.attempt)-replay")
        let declared = try await context.declaredFeatures(of: champion.model)?.map(\.name)
        let features = declared ?? Set(rows.flatMap(\.features.keys)).sorted()
        let scorer = ReplayScorer(command: command, folder: folder)
        let replay = try scorer.write(rows: rows, features: features, model: champion.model, from: start, to: end)
        let first = try await scorer.predictions(of: champion, replay: replay, context: context)
        let second = try await scorer.predictions(of: challenger, replay: replay, context: context)
        // The scorer answered every replayed request, or `predictions` threw.
        return rows.compactMap { row in
            guard let champion = first[row.requestID], let challenger = second[row.requestID] else { return nil }
            return PairedEvaluation.Pair(label: row.label, champion: champion, challenger: challenger)
        }
    }

    static func p95(_ values: [Double]) -> Double? {
        (try? SortedSample(values))?.quantile(0.95)
    }

    static func text(_ value: Double) -> String {
        value.isFinite ? String(format: "%.4g", value) : "n/a"
    }
}
