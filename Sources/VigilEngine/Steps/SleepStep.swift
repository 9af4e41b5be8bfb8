import Foundation
import VigilWorkflow

/// `sleep`: waits durably. The wake-up time is stored with the step, so the wait survives worker
/// restarts and resumes at the right time on whichever worker is free then.
public struct SleepStep: WorkflowStep {
    public struct Parameters: Decodable, Sendable {
        public let duration: WorkflowDuration

        enum CodingKeys: String, CodingKey { case duration = "for" }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if let seconds = try? container.decode(Double.self, forKey: .duration) {
                duration = WorkflowDuration(seconds: seconds)
            } else {
                duration = try container.decode(WorkflowDuration.self, forKey: .duration)
            }
        }
    }

    public static var schema: StepSchema { StepCatalog.builtIn.schemas["sleep"]! }

    public init() {}

    public func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        if let memo = context.memo, let wake = memo["wake_at"]?.stringValue, let date = ISO8601DateFormatter.precise.date(from: wake) {
            guard context.clock.now() >= date else { return .suspended(until: date, memo: memo) }
            return .completed(["slept_until": .string(wake)])
        }
        let wake = context.clock.now().addingTimeInterval(parameters.duration.seconds)
        return .suspended(until: wake, memo: ["wake_at": .string(ISO8601DateFormatter.precise.string(from: wake))])
    }
}

/// `approval`: a gate that waits for a person to approve or reject.
public struct ApprovalStep: WorkflowStep {
    public struct Parameters: Decodable, Sendable {
        public let roles: [String]?
        public let message: String?
    }

    public static var schema: StepSchema { StepCatalog.builtIn.schemas["approval"]! }

    public init() {}

    public func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        guard let decision = context.approval else {
            return .awaitingApproval(memo: [
                "roles": .array((parameters.roles ?? ["approver"]).map(JSONValue.string)),
                "message": parameters.message.map(JSONValue.string) ?? .null,
            ])
        }
        guard decision.approved else { return .failed("rejected by \(decision.by): \(decision.reason)", retryable: false) }
        return .completed(["approved_by": .string(decision.by), "reason": .string(decision.reason)])
    }
}
