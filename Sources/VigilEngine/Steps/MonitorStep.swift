import Foundation
import VigilStatistics
import VigilStore
import VigilWorkflow

/// `monitor`: computes the due windows of the workflow's `data` for its `model` (see
/// ``WindowMonitor``) and outputs a summary of the latest one.
public struct MonitorStep: WorkflowStep {
    public struct Parameters: Decodable, Sendable {
        public var windows: Int?
        public var features: [String]?
        public var method: String?
        public var threshold: Double?
        public var sampleRate: Double?
        public var lookback: WorkflowDuration?
        public var minRows: Int?
        public var significance: Double?
        public var correction: String?
        public var multivariate: MultivariateOptions?
        public var embedding: EmbeddingSettings?

        enum CodingKeys: String, CodingKey {
            case windows, features, method, threshold, lookback, significance, correction, multivariate, embedding
            case sampleRate = "sample_rate"
            case minRows = "min_rows"
        }

        /// The drift policy these parameters state: the defaults, with what the step overrides.
        public func policy() throws(MonitorError) -> DriftPolicy {
            var policy = DriftPolicy()
            if let method, method != "auto" {
                guard let chosen = DriftMethod(rawValue: method) else { throw MonitorError("unknown drift method '\(method)'") }
                policy.method = chosen
            }
            policy.threshold = threshold
            if let minRows { policy.minimumCount = minRows }
            if let significance { policy.significance = significance }
            if let correction {
                guard let chosen = DriftCorrection(rawValue: correction) else {
                    throw MonitorError("unknown correction '\(correction)'; use bh, bonferroni or none")
                }
                policy.correction = chosen
            }
            return policy
        }
    }

    public static var schema: StepSchema { StepCatalog.builtIn.schemas["monitor"]! }

    public init() {}

    public func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        guard let model = context.workflow.model, let data = context.workflow.data else {
            return .failed("the monitor step needs the workflow to declare `model` and `data`", retryable: false)
        }
        var options = WindowMonitor.Options()
        if let windows = parameters.windows { options.maximumWindows = windows }
        options.features = parameters.features
        if let rate = parameters.sampleRate { options.sampleRate = rate }
        if let lookback = parameters.lookback { options.lookback = lookback.seconds }
        options.multivariate = parameters.multivariate
        if let embedding = parameters.embedding { options.embedding = embedding }
        let summary: WindowMonitor.Summary
        do {
            options.policy = try parameters.policy()
            let monitor = try WindowMonitor(
                database: context.database, workflow: context.workflow.name, model: model, data: data, options: options, logger: context.logger
            )
            summary = try await monitor.run(now: context.clock.now(), runID: context.runID)
        } catch let error as MonitorError {
            return .failed(error.description, retryable: false)
        } catch let error as StoreError where error.code == .invalidConfiguration {
            return .failed(error.message, retryable: false)
        }
        var lines = summary.windows.map { window in
            "computed \(Self.format(window.start)) – \(Self.format(window.end)): \(window.rows) rows, \(window.labelled) labelled, \(window.quarantined) quarantined"
        }
        if let reason = summary.idleReason { lines.append("no window is due: \(reason)") }
        if !summary.driftedFeatures.isEmpty { lines.append("latest window: drifted \(summary.driftedFeatures.joined(separator: ", "))") }
        for metric in summary.latestMultivariate where metric.drifted {
            lines.append("latest window: multivariate drift by \(metric.method) (\(metric.value)\(metric.pValue.map { ", p = \($0)" } ?? ""))")
        }
        await context.log(lines)
        for window in summary.windows {
            try await context.recordLineage(
                from: LineageNode(kind: "data_window", id: "\(model)@\(Self.format(window.start))"), to: context.runNode, relation: "monitored"
            )
        }
        var scores: [String: JSONValue] = [:]
        for metric in summary.latestDrift where metric.columnRole == "feature" { scores[metric.featureName] = .number(metric.driftScore) }
        var performance: [String: JSONValue] = [:]
        for metric in summary.latestPerformance { performance[metric.metric] = .number(metric.value) }
        return .completed([
            "windows_computed": .number(Double(summary.windows.count)),
            "drifted_features": .array(summary.driftedFeatures.map(JSONValue.string)),
            "drift_scores": .object(scores),
            "drift_share": .number(summary.driftShare),
            "performance": .object(performance),
            "window_start": summary.windows.last.map { .string(Self.format($0.start)) } ?? .null,
            "window_end": summary.windows.last.map { .string(Self.format($0.end)) } ?? .null,
            "multivariate_drifted": .array(summary.latestMultivariate.filter(\.drifted).map { .string($0.method) }),
            "drivers": .array(summary.latestDrivers.prefix(3).map { .object(["feature": .string($0.feature), "share": .number($0.share)]) }),
        ])
    }

    static func format(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}
