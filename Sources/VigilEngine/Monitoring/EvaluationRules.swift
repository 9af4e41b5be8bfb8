import Foundation
import VigilStatistics
import VigilStore
import VigilWorkflow

/// The conditions of one severity in an `evaluate` step. Every condition given is a separate
/// rule; any rule that holds (with persistence) raises the severity.
///
/// ```yaml
/// hard:
///   drift_share: 0.4                          # share of drifted features ≥ 0.4
///   drift_score: { above: 0.3, features: [order_amount] }
///   features: [tenure_months]                 # any of these drifted
///   performance_drop: { metric: f1, by: 0.05 } # against the reference's value (min_samples: 100, significance: 0.0005)
///   estimate_gap: { metric: accuracy, by: 0.05 } # realised against its own estimate (same guards)
///   canary_drop: { metric: f1, by: 0.03 }      # a canary against the champion in the same window
///   slo: { latency_p95: 250, error_rate: 0.02 } # upper bounds
///   custom: [{ metric: conversion, min: 0.02 }]
///   missing_rate: 0.2                         # any feature
///   quarantined: 100                          # rows set aside at ingest
///   persistence: { windows: 2, of: 3 }        # this severity's own, instead of the step's
///   detector: { method: ddm }                  # an online detector (see ``OnlineDetectorRule``)
///   when:                                     # conditions over the window's metrics (see ``WindowConditions``)
///     - estimated_f1 < 0.85
///     - estimated_drop(roc_auc) > 0.03
///     - { condition: "estimated_roc_auc.upper < reference.roc_auc.lower", min_samples: 200 }
/// ```
struct RuleSet: Decodable, Sendable {
    struct ScoreRule: Decodable, Sendable {
        var above: Double
        var features: [String]?

        init(from decoder: any Decoder) throws {
            if let number = try? decoder.singleValueContainer().decode(Double.self) {
                above = number
                features = nil
                return
            }
            let container = try decoder.container(keyedBy: CodingKeys.self)
            above = try container.decode(Double.self, forKey: .above)
            features = try container.decodeIfPresent([String].self, forKey: .features)
        }

        enum CodingKeys: String, CodingKey { case above, features }
    }

    /// A metric compared with another value of it (the reference's, its own estimate's, the
    /// champion's): it holds when the difference is at least `by`, on at least `min_samples` rows
    /// (labelled rows for a realised quality metric, all rows for an estimate, a proxy or an
    /// operational metric), and beyond the sampling noise: the p-value of the difference against
    /// the standard error(s) from the values' stored bands below `significance`. Values without
    /// bands are judged on `by` and `min_samples` alone. `performance_drop`, `estimate_gap` and
    /// `canary_drop` are this comparison against different values.
    struct MetricComparison: Decodable, Sendable {
        static let defaultMinimumSamples = 100
        static let defaultSignificance = 0.0005

        var metric: String
        var by: Double
        var minSamples: Int?
        var significance: Double?

        enum CodingKeys: String, CodingKey {
            case metric, by, significance
            case minSamples = "min_samples"
        }

        /// The rows a value stands on, as `min_samples` counts them.
        func samples(of value: WindowMetric) -> Int {
            value.estimated || value.isProxy || MetricNames.operational.contains(metric) ? value.rowCount : value.labelledRows
        }

        /// Whether a larger value is worse.
        var higherIsWorse: Bool {
            MetricNames.operational.contains(metric) || RuleSet.lowerIsBetter.contains(metric.hasPrefix("estimated_") ? String(metric.dropFirst("estimated_".count)) : metric)
        }

        /// The p-value of `difference` against the combined standard error of `values`, when
        /// each has a band (`sides` 2 for a difference either way); `.some(nil)` when one has
        /// none, and `nil` when it is not significant.
        func noise(_ difference: Double, _ values: [WindowMetric], sides: Double = 1) -> Double?? {
            let errors = values.compactMap(\.standardError)
            guard errors.count == values.count else { return .some(nil) }
            let p = min(1, sides * MetricDrop.pValue(drop: difference, standardError: errors.map { $0 * $0 }.reduce(0, +).squareRoot()))
            return p < (significance ?? Self.defaultSignificance) ? .some(p) : nil
        }

        /// `performance_drop`: worse than the reference's value.
        func dropFromReference(in window: WindowReport) -> String? {
            guard let observed = window.metrics[metric], let baseline = observed.baselineValue else { return nil }
            let samples = samples(of: observed)
            guard samples >= (minSamples ?? Self.defaultMinimumSamples) else { return nil }
            let worse = higherIsWorse ? observed.value - baseline : baseline - observed.value
            guard worse >= by, let p = noise(worse, [observed]) else { return nil }
            let evidence = (observed.estimated ? "\(samples) rows, estimated" : "\(samples) labels") + (p.map { ", p = \(RuleSet.format($0))" } ?? "")
            return "\(metric) \(RuleSet.format(observed.value)) against \(RuleSet.format(baseline)) on the reference (worse by \(RuleSet.format(worse)) ≥ \(RuleSet.format(by)), \(evidence))"
        }

        /// `estimate_gap`: the realised value has left its own estimate, either way, so the
        /// model's scores no longer say how often it is right (its calibration broke: concept drift).
        func gapFromEstimate(in window: WindowReport) -> String? {
            guard let realised = window.metrics[metric], let estimate = window.metrics["estimated_" + metric] else { return nil }
            guard realised.labelledRows >= (minSamples ?? Self.defaultMinimumSamples) else { return nil }
            let gap = abs(realised.value - estimate.value)
            guard gap >= by, let p = noise(gap, [realised, estimate], sides: 2) else { return nil }
            let evidence = "\(realised.labelledRows) labels" + (p.map { ", p = \(RuleSet.format($0))" } ?? "")
            return "\(metric) \(RuleSet.format(realised.value)) realised against \(RuleSet.format(estimate.value)) estimated from the scores (gap \(RuleSet.format(gap)) ≥ \(RuleSet.format(by)), \(evidence)): the scores no longer say how often the model is right"
        }

        /// `canary_drop`: a canary worse than the champion it shares the window with.
        func canaryDrop(in window: WindowReport) -> String? {
            guard let canary = window.canary[metric], let champion = window.metrics[metric], champion.variant == "champion" else { return nil }
            let samples = samples(of: canary)
            guard samples >= (minSamples ?? Self.defaultMinimumSamples) else { return nil }
            let worse = higherIsWorse ? canary.value - champion.value : champion.value - canary.value
            guard worse >= by, let p = noise(worse, [canary, champion]) else { return nil }
            let versions = "v\(canary.modelVersion ?? "?") on canary, v\(champion.modelVersion ?? "?") champion"
            let evidence = "\(samples) canary rows" + (p.map { ", p = \(RuleSet.format($0))" } ?? "")
            return "\(metric) \(RuleSet.format(canary.value)) on the canary against \(RuleSet.format(champion.value)) for the champion in the same window (worse by \(RuleSet.format(worse)) ≥ \(RuleSet.format(by)); \(versions); \(evidence))"
        }
    }

    /// A `when` condition: an expression over the window's metrics (see ``WindowConditions``)
    /// that holds when it is true; a metric on fewer than `min_samples` rows reads as null.
    struct Condition: Decodable, Sendable {
        var source: String
        var expression: VigilWorkflow.Expression
        var minSamples: Int?

        enum CodingKeys: String, CodingKey {
            case condition
            case minSamples = "min_samples"
        }

        init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                source = text
            } else {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                source = try container.decode(String.self, forKey: .condition)
                minSamples = try container.decodeIfPresent(Int.self, forKey: .minSamples)
            }
            do {
                expression = try ExpressionParser.parse(source)
            } catch {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(source)': \(error.message)"))
            }
        }

        /// What it saw, when it holds in `window`.
        func holds(in window: WindowReport) -> String? {
            let conditions = WindowConditions(window, minimumSamples: minSamples ?? MetricComparison.defaultMinimumSamples)
            guard (try? ExpressionEvaluator(context: ExpressionContext(window: conditions.values)).evaluate(expression).isTruthy) == true else { return nil }
            return "\(source) (\(conditions.describe(expression)))"
        }
    }

    /// One or several conditions, as `when:` takes them.
    struct Conditions: Decodable, Sendable {
        var items: [Condition]

        init(from decoder: any Decoder) throws {
            if let list = try? decoder.singleValueContainer().decode([Condition].self) {
                items = list
            } else {
                items = [try Condition(from: decoder)]
            }
        }
    }

    /// `multivariate: true` (any method) or `{ methods: [domain_classifier] }`: a multivariate
    /// method run by the monitor (its `multivariate:` setting) flagged the window.
    struct MultivariateRule: Decodable, Sendable {
        var methods: [TabularDrift.Method]?

        enum CodingKeys: String, CodingKey { case methods }

        init(from decoder: any Decoder) throws {
            if let enabled = try? decoder.singleValueContainer().decode(Bool.self) {
                guard enabled else {
                    throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "leave multivariate out to turn it off"))
                }
                return
            }
            methods = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent([TabularDrift.Method].self, forKey: .methods)
        }

        func holds(in window: WindowReport) -> String? {
            let hits = window.multivariate.filter { metric in
                metric.drifted && (methods?.contains { $0.rawValue == metric.method } ?? true)
            }
            guard !hits.isEmpty else { return nil }
            let found = hits.map { metric in
                metric.method == TabularDrift.Method.domainClassifier.rawValue
                    ? "domain classifier AUC \(RuleSet.format(metric.value)) (p = \(RuleSet.format(metric.pValue ?? .nan)))"
                    : "reconstruction error \(RuleSet.format(metric.value)) outside \(RuleSet.format(metric.lower ?? .nan))–\(RuleSet.format(metric.upper ?? .nan))"
            }
            return "multivariate drift: " + found.joined(separator: ", ") + RuleSet.drivers(window)
        }
    }

    struct Bound: Decodable, Sendable {
        var metric: String
        var min: Double?
        var max: Double?
    }

    var driftShare: Double?
    var driftScore: ScoreRule?
    var features: [String]?
    var performanceDrop: MetricComparison?
    var estimateGap: MetricComparison?
    var canaryDrop: MetricComparison?
    var slo: [String: Double]?
    var custom: [Bound]?
    var missingRate: Double?
    var quarantined: Int?
    /// How many of the latest windows this severity's rules must hold in, when it differs from
    /// the step's: a soft warning on the first window, a hard alert when it persists.
    var persistence: Persistence?
    /// An online detector, run by the step before the window rules (it reads a stream, not windows).
    var detector: OnlineDetectorRule?
    var when: Conditions?
    var multivariate: MultivariateRule?

    enum CodingKeys: String, CodingKey {
        case features, slo, custom, quarantined, persistence, detector, when, multivariate
        case driftShare = "drift_share"
        case driftScore = "drift_score"
        case performanceDrop = "performance_drop"
        case estimateGap = "estimate_gap"
        case canaryDrop = "canary_drop"
        case missingRate = "missing_rate"
    }

    /// These rules with the significance levels of their metric comparisons divided by `factor`:
    /// a Bonferroni correction for judging `factor` slices with them (see ``SliceTarget``).
    func correctedForSlices(_ factor: Double) -> RuleSet {
        guard factor > 1 else { return self }
        var rules = self
        for path in [\RuleSet.performanceDrop, \.estimateGap, \.canaryDrop] {
            guard var comparison = rules[keyPath: path] else { continue }
            comparison.significance = (comparison.significance ?? MetricComparison.defaultSignificance) / factor
            rules[keyPath: path] = comparison
        }
        return rules
    }

    /// Metrics where a larger value is worse.
    static let lowerIsBetter: Set<String> = ["log_loss", "rmse", "mae", "mape", "brier", "ece"]

    /// Each rule, as a name and a test of one window that returns what it saw when it holds.
    var rules: [(name: String, holds: @Sendable (WindowReport) -> String?)] {
        var rules: [(String, @Sendable (WindowReport) -> String?)] = []
        if let share = driftShare {
            rules.append(("drift_share", { window in
                let tested = window.drift.filter { $0.columnRole == "feature" }
                guard !tested.isEmpty else { return nil }
                let drifted = tested.filter(\.drifted)
                let value = Double(drifted.count) / Double(tested.count)
                guard value >= share else { return nil }
                return "drift share \(Self.format(value)) ≥ \(Self.format(share)) (\(Self.top(drifted)))\(Self.drivers(window))"
            }))
        }
        if let rule = driftScore {
            rules.append(("drift_score", { window in
                let hits = window.drift.filter { $0.columnRole == "feature" && $0.driftScore > rule.above && (rule.features?.contains($0.featureName) ?? true) }
                return hits.isEmpty ? nil : "drift score above \(Self.format(rule.above)): \(Self.top(hits))"
            }))
        }
        if let rule = multivariate {
            rules.append(("multivariate", { window in rule.holds(in: window) }))
        }
        if let names = features {
            rules.append(("features", { window in
                let hits = window.drift.filter { $0.columnRole == "feature" && $0.drifted && names.contains($0.featureName) }
                return hits.isEmpty ? nil : "watched features drifted: \(Self.top(hits))"
            }))
        }
        if let drop = performanceDrop {
            rules.append(("performance_drop", { window in drop.dropFromReference(in: window) }))
        }
        if let gap = estimateGap {
            rules.append(("estimate_gap", { window in gap.gapFromEstimate(in: window) }))
        }
        if let drop = canaryDrop {
            rules.append(("canary_drop", { window in drop.canaryDrop(in: window) }))
        }
        for (name, limit) in (slo ?? [:]).sorted(by: { $0.key < $1.key }) {
            rules.append(("slo.\(name)", { window in
                guard let metric = window.metrics[name], metric.value > limit else { return nil }
                return "\(name) \(Self.format(metric.value)) above its objective \(Self.format(limit))"
            }))
        }
        for bound in custom ?? [] {
            rules.append(("custom.\(bound.metric)", { window in
                guard let metric = window.metrics[bound.metric] else { return nil }
                if let min = bound.min, metric.value < min { return "\(bound.metric) \(Self.format(metric.value)) below \(Self.format(min))" }
                if let max = bound.max, metric.value > max { return "\(bound.metric) \(Self.format(metric.value)) above \(Self.format(max))" }
                return nil
            }))
        }
        for (index, condition) in (when?.items ?? []).enumerated() {
            rules.append((when!.items.count > 1 ? "when[\(index)]" : "when", { window in condition.holds(in: window) }))
        }
        if let limit = missingRate {
            rules.append(("missing_rate", { window in
                let hits = window.integrity.filter { $0.featureName != "*" && $0.missingRate > limit }
                return hits.isEmpty ? nil : "missing rate above \(Self.format(limit)): " + hits.map { "\($0.featureName) \(Self.format($0.missingRate))" }.joined(separator: ", ")
            }))
        }
        if let limit = quarantined {
            rules.append(("quarantined", { window in
                let count = window.integrity.first { $0.featureName == "*" }?.quarantinedRows ?? 0
                return count >= limit ? "\(count) rows quarantined at ingest (≥ \(limit))" : nil
            }))
        }
        return rules
    }

    static func format(_ value: Double) -> String {
        String(format: "%.3g", value)
    }

    /// "; top drivers: a 0.61, b 0.2, c 0.1", the window's three strongest drivers of drift and
    /// their shares, or nothing when none are stored.
    static func drivers(_ window: WindowReport) -> String {
        guard !window.drivers.isEmpty else { return "" }
        return "; top drivers: " + window.drivers.prefix(3).map { "\($0.feature) \(format($0.share))" }.joined(separator: ", ")
    }

    static func top(_ metrics: [DriftMetric]) -> String {
        metrics.sorted { $0.driftScore > $1.driftScore }.prefix(5).map { "\($0.featureName) \(format($0.driftScore))" }.joined(separator: ", ")
    }
}

extension WindowMetric {
    /// The sampling error its band stands for: the band is three standard errors either side,
    /// clipped to [0, 1] on one side at most.
    var standardError: Double? {
        guard let lower, let upper else { return nil }
        return max(upper - value, value - lower) / 3
    }
}

/// How many of the latest windows a rule must hold in: `windows` of the last `of`.
struct Persistence: Decodable, Sendable {
    var windows: Int
    var of: Int

    static let latestOnly = Persistence(windows: 1, of: 1)

    /// Why it cannot be used, if it cannot.
    var problem: String? {
        windows >= 1 && of >= windows ? nil : "persistence needs 1 ≤ windows ≤ of (got \(windows) of \(of))"
    }
}

/// A severity and why, from rules over the latest windows.
struct Evaluation: Sendable {
    enum Severity: String, Sendable, Comparable {
        case none, soft, hard

        static func < (lhs: Severity, rhs: Severity) -> Bool {
            let order: [Severity] = [.none, .soft, .hard]
            return order.firstIndex(of: lhs)! < order.firstIndex(of: rhs)!
        }
    }

    var severity = Severity.none
    var reasons: [String] = []

    /// Applies `hard`, then `soft`, to `windows` (newest first), each with its own persistence
    /// or else `persistence`; `detected` says why a severity's online detector holds in this pass.
    /// Each reason names `scope` (a slice, such as `region=eu`) after its severity when given.
    static func evaluate(
        windows: [WindowReport], soft: RuleSet?, hard: RuleSet?, persistence: Persistence, detected: [Severity: String] = [:], scope: String? = nil
    ) -> Evaluation {
        let scope = scope.map { "\($0): " } ?? ""
        var evaluation = Evaluation()
        for (severity, rules) in [(Severity.hard, hard), (.soft, soft)] {
            if let reason = detected[severity] {
                evaluation.severity = max(evaluation.severity, severity)
                evaluation.reasons.append("\(severity.rawValue): \(reason)")
            }
            let persistence = rules?.persistence ?? persistence
            let considered = Array(windows.prefix(persistence.of))
            for rule in rules?.rules ?? [] {
                let seen = considered.compactMap(rule.holds)
                guard seen.count >= persistence.windows, let latest = seen.first else { continue }
                evaluation.severity = max(evaluation.severity, severity)
                let span = persistence.of > 1 ? " in \(seen.count) of the last \(considered.count) windows" : ""
                evaluation.reasons.append("\(severity.rawValue): \(scope)\(rule.name)\(span): \(latest)")
            }
        }
        return evaluation
    }
}
