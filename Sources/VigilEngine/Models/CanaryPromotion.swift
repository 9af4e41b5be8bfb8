import AsyncHTTPClient
import Foundation
import VigilStore
import VigilWorkflow

/// One promote step's work on its promotion: begin, judge each stage, complete or roll back.
struct CanaryPromotion {
    let parameters: PromoteStep.Parameters
    let stages: [Double]
    let model: String
    let context: StepContext
    /// Where a rollback's alert goes.
    let channels: ChannelDirectory?
    let routing: ChannelConfiguration?
    let client: HTTPClient

    var registry: ModelRegistry { ModelRegistry(database: context.database) }
    var actor: String { "workflow:\(context.workflow.name)#\(context.runID)" }
    var hold: TimeInterval { parameters.hold?.seconds ?? 3_600 }

    /// Starts the promotion at the first stage.
    func begin(_ version: Int) async throws -> StepOutcome {
        let promotion: Promotion
        do {
            promotion = try await registry.startPromotion(version, of: model, runID: context.runID, actor: actor, now: context.clock.now())
        } catch let error as StoreError where error.code == .conflict {
            return .failed(error.message, retryable: false)
        }
        try await context.recordLineage(from: LineageNode(kind: "model_version", id: "\(model)@\(version)"),
                                        to: LineageNode(kind: "promotion", id: String(promotion.id)), relation: "promoted_in")
        await context.log(["promoting \(model) version \(version) over champion \(promotion.championVersion.map(String.init) ?? "none") in stages \(stages.map(Self.percent).joined(separator: " → "))"])
        return try await enter(stage: 0, of: promotion)
    }

    /// Moves traffic to stage `index` and holds it, or finishes when it is full traffic.
    private func enter(stage index: Int, of promotion: Promotion) async throws -> StepOutcome {
        let percent = stages[index]
        guard percent < 100 else {
            if parameters.approvalBeforeFull == true {
                try await registry.awaitApproval(promotion, actor: actor, now: context.clock.now())
                await context.log(["canary passed every stage; waiting for approval before full traffic"])
                return .awaitingApproval(memo: memo(promotion, stage: index, holds: 0))
            }
            return try await complete(promotion, reason: "canary passed every stage's guards")
        }
        try await registry.setCanary(promotion, percent: percent, actor: actor, reason: "canary at \(Self.percent(percent))", now: context.clock.now())
        await publish()
        await context.log(["canary at \(Self.percent(percent)) for \(WorkflowDuration(seconds: hold))"])
        return .suspended(until: context.clock.now().addingTimeInterval(hold), memo: memo(promotion, stage: index, holds: 0))
    }

    private func memo(_ promotion: Promotion, stage: Int, holds: Int) -> [String: JSONValue] {
        [
            "promotion": .number(Double(promotion.id)), "stage": .number(Double(stage)), "holds": .number(Double(holds)),
            "stage_started": .number(context.clock.now().timeIntervalSince1970),
        ]
    }

    /// At the end of a hold: advance, hold again, or roll back.
    func judge(_ promotion: Promotion, memo: [String: JSONValue]) async throws -> StepOutcome {
        let index = memo["stage"]?.intValue ?? 0
        let holds = memo["holds"]?.intValue ?? 0
        let start = Date(timeIntervalSince1970: memo["stage_started"]?.numberValue ?? 0)
        let end = context.clock.now()
        let guards = parameters.guards ?? PromoteStep.Guards()
        let data = ServingData(database: context.database)
        let canary = try await data.traffic(model: model, version: promotion.version, role: "canary", from: start, to: end)
        let champion = try await promotion.championVersion.asyncMap { try await data.traffic(model: model, version: $0, role: "champion", from: start, to: end) }
        let stage = Self.percent(stages[index])
        await context.log(["\(stage): canary served \(canary.requests) requests (\(canary.errors) errors, P95 \(canary.latencyP95.map { String(format: "%.1f", $0) } ?? "n/a") ms, \(canary.labelled) labelled)"])
        if canary.requests < (guards.minRequests ?? 30) {
            guard holds < (parameters.maxHolds ?? 3) else {
                return try await rollBack(promotion, reason: "\(stage): only \(canary.requests) canary requests after \(holds + 1) holds; not enough traffic to judge", raiseAlert: true)
            }
            await context.log(["hold: \(canary.requests) canary requests, fewer than min_requests \(guards.minRequests ?? 30)"])
            var next = self.memo(promotion, stage: index, holds: holds + 1)
            next["stage_started"] = .number(start.timeIntervalSince1970)
            return .suspended(until: end.addingTimeInterval(hold), memo: next)
        }
        if let breach = Self.breach(canary: canary, champion: champion, guards: guards) {
            return try await rollBack(promotion, reason: "\(stage): \(breach)", raiseAlert: true)
        }
        await context.log(["\(stage): guards hold; advancing"])
        return index + 1 < stages.count ? try await enter(stage: index + 1, of: promotion) : try await complete(promotion, reason: "canary passed every stage's guards")
    }

    /// The first guard the canary breaks, in words.
    static func breach(canary: ServingData.Traffic, champion: ServingData.Traffic?, guards: PromoteStep.Guards) -> String? {
        if let limit = guards.maxErrorRate, canary.errorRate > limit {
            return "canary error rate \(String(format: "%.4f", canary.errorRate)) is above max_error_rate \(limit)"
        }
        if let limit = guards.maxLatencyP95Ratio, let mine = canary.latencyP95, let theirs = champion?.latencyP95, theirs > 0, mine / theirs > limit {
            return "canary latency P95 \(String(format: "%.1f", mine)) ms is \(String(format: "%.2f", mine / theirs))× the champion's, above max_latency_p95_ratio \(limit)"
        }
        let minimum = guards.minLabelled ?? 30
        if let limit = guards.minQualityRatio, canary.labelled >= minimum, let champion, champion.labelled >= minimum,
           let mine = canary.accuracy, let theirs = champion.accuracy, theirs > 0, mine / theirs < limit {
            return "canary accuracy \(String(format: "%.3f", mine)) is \(String(format: "%.3f", mine / theirs)) of the champion's, below min_quality_ratio \(limit)"
        }
        return nil
    }

    /// Makes the version the champion.
    func complete(_ promotion: Promotion, reason: String) async throws -> StepOutcome {
        let current = try await registry.promotion(promotion.id)
        guard current.state != .promoted else { return outcome(current, rolledBack: false) }
        do {
            try await registry.completePromotion(promotion, actor: actor, reason: reason, now: context.clock.now())
        } catch let error as StoreError where error.code == .conflict {
            try await registry.rollbackPromotion(promotion, actor: actor, reason: error.message, now: context.clock.now())
            return .failed(error.message, retryable: false)
        }
        await publish()
        await context.log(["promoted \(model) version \(promotion.version) to champion: \(reason)"])
        return outcome(try await registry.promotion(promotion.id), rolledBack: false)
    }

    /// Takes the canary's traffic back and says why; raises a hard alert for a guard breach.
    func rollBack(_ promotion: Promotion, reason: String, raiseAlert: Bool) async throws -> StepOutcome {
        try await registry.rollbackPromotion(promotion, actor: actor, reason: reason, now: context.clock.now())
        await publish()
        await context.log(["rolled back \(model) version \(promotion.version): \(reason)"])
        if raiseAlert {
            let finding = AlertFinding(
                model: model, rule: "\(model)-canary-rollback", subject: "version \(promotion.version)", severity: .hard,
                details: ["reasons": .array([.string(reason)]), "run": .number(Double(context.runID)), "workflow": .string(context.workflow.name)],
                channels: parameters.channels ?? []
            )
            let raised = try await AlertStore(database: context.database).raise(finding, idempotencyKey: context.idempotencyKey + "/rollback", runID: context.runID,
                                                                                  actor: actor, now: context.clock.now())
            if !raised.queued.isEmpty, let channels {
                let notifier = AlertNotifier(database: context.database, channels: channels, clock: context.clock, actor: actor, logger: context.logger)
                for delivery in try await notifier.deliverPending(alertID: raised.alert.id) where delivery.error != nil {
                    await context.log(["rollback alert not delivered to \(delivery.notification.channel): \(delivery.error ?? "")"], stream: "stderr")
                }
            }
        }
        return outcome(try await registry.promotion(promotion.id), rolledBack: true)
    }

    func outcome(_ promotion: Promotion, rolledBack: Bool) -> StepOutcome {
        .completed([
            "promoted": .bool(promotion.state == .promoted), "rolled_back": .bool(rolledBack), "version": .number(Double(promotion.version)),
            "final_stage": .number(promotion.state == .promoted ? 100 : promotion.stagePercent), "reason": .string(promotion.reason ?? ""),
        ])
    }

    /// Tells the routing webhook of the change just made; what it does not take stays in the
    /// outbox for the alert keeper.
    private func publish() async {
        guard let routing else { return }
        let announcer = RoutingAnnouncer(database: context.database, destination: routing, client: client, clock: context.clock, actor: actor, logger: context.logger)
        do {
            for announcement in try await announcer.deliverPending(model: model) where announcement.state != .delivered {
                await context.log(["the routing webhook has not taken the routing yet (\(announcement.error ?? announcement.state.rawValue)); it is sent again later"], stream: "stderr")
            }
        } catch {
            await context.log(["the routing change is queued; it could not be sent now: \(StoreError.explain(error))"], stream: "stderr")
        }
    }

    static func percent(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))%" : "\(value)%"
    }
}

extension Optional {
    /// `map` with an async transform.
    func asyncMap<Result>(_ transform: (Wrapped) async throws -> Result) async rethrows -> Result? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
