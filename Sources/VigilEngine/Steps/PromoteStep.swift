import AsyncHTTPClient
import Foundation
import VigilStore
import VigilWorkflow

/// `promote`: takes a version from canary to champion in stages (for example 10% → 50% → 100%),
/// holding each stage for `hold` (a durable timer: the step suspends and any worker resumes it).
/// At the end of each hold, guard metrics on the canary's traffic against the champion's decide:
///
/// - **advance** to the next stage;
/// - **hold** the stage again when the canary served fewer than `min_requests` (at most `max_holds` times);
/// - **roll back** at once on a breach (error rate, latency P95 ratio, quality ratio where labels
///   exist): the canary alias is removed, so the champion, which never stopped serving, takes all
///   traffic again; the changelog says why and a hard alert is raised.
///
/// With `approval_before_full`, a person approves (`vigil approve RUN STEP`) before full traffic.
/// Full promotion moves the champion alias only if it still points where it did when the promotion
/// began; one promotion per model runs at a time (the database refuses a second).
public struct PromoteStep: WorkflowStep {
    public struct Parameters: Decodable, Sendable {
        let version: Int?
        let stages: [Double]?
        let hold: WorkflowDuration?
        let guards: Guards?
        let approvalBeforeFull: Bool?
        let maxHolds: Int?
        let channels: [String]?

        enum CodingKeys: String, CodingKey {
            case version, stages, hold, guards, channels
            case approvalBeforeFull = "approval_before_full", maxHolds = "max_holds"
        }
    }

    /// The limits canary traffic must keep.
    struct Guards: Decodable, Sendable {
        var maxErrorRate: Double?
        var maxLatencyP95Ratio: Double?
        var minQualityRatio: Double?
        var minRequests: Int?
        var minLabelled: Int?

        enum CodingKeys: String, CodingKey {
            case maxErrorRate = "max_error_rate", maxLatencyP95Ratio = "max_latency_p95_ratio", minQualityRatio = "min_quality_ratio"
            case minRequests = "min_requests", minLabelled = "min_labelled"
        }
    }

    public static var schema: StepSchema { StepCatalog.builtIn.schemas["promote"]! }

    /// Where a rollback's alert goes and, unless `routingWebhook` says otherwise, the routing
    /// webhook; `nil` reads ``ChannelDirectory/load(environment:file:)`` at each run.
    let channels: ChannelDirectory?
    /// The routing webhook given to the step itself, told of each change at once; the alert
    /// keeper delivers what it could not take.
    let routingWebhook: ChannelConfiguration?
    let client: HTTPClient

    /// - Parameters:
    ///   - channels: the process's channels (`vigil serve --channels`); default the environment's.
    ///   - routingWebhook: where every routing change is posted; default the channels' `routing_webhook`.
    public init(channels: ChannelDirectory? = nil, routingWebhook: String? = nil, client: HTTPClient = .shared) {
        self.channels = channels
        self.routingWebhook = routingWebhook.map { ChannelConfiguration.routingWebhook(url: $0) }
        self.client = client
    }

    public func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        guard let model = context.workflow.model else { return .failed("the promote step needs the workflow to declare `model`", retryable: false) }
        let stages = parameters.stages ?? [10, 50, 100]
        guard !stages.isEmpty, stages.allSatisfy({ $0 > 0 && $0 <= 100 }), zip(stages, stages.dropFirst()).allSatisfy({ $0 < $1 }) else {
            return .failed("stages must be rising traffic percentages in (0, 100], such as [10, 50, 100]", retryable: false)
        }
        let channels = self.channels ?? (try? ChannelDirectory.load())
        let canary = CanaryPromotion(
            parameters: parameters, stages: stages, model: model, context: context, channels: channels, routing: routingWebhook ?? channels?.routing, client: client
        )
        guard let memo = context.memo, let id = memo["promotion"]?.intValue else {
            let aliased = try await ModelRegistry(database: context.database).version(aliased: "challenger", of: model)
            guard let version = parameters.version ?? aliased else {
                return .failed("no version to promote: pass `version:` or set the challenger alias", retryable: false)
            }
            return try await canary.begin(version)
        }
        let promotion = try await ModelRegistry(database: context.database).promotion(id)
        guard promotion.state == .canary || promotion.state == .awaitingApproval else {
            return canary.outcome(promotion, rolledBack: promotion.state == .rolledBack)
        }
        if let decision = context.approval {
            guard decision.approved else {
                return try await canary.rollBack(promotion, reason: "full promotion rejected by \(decision.by): \(decision.reason)", raiseAlert: false)
            }
            return try await canary.complete(promotion, reason: "approved by \(decision.by): \(decision.reason)")
        }
        return try await canary.judge(promotion, memo: memo)
    }
}
