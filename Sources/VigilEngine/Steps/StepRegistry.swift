import Foundation
import VigilWorkflow

/// The step types a worker can run, by type name.
public struct StepRegistry: Sendable {
    typealias Runner = @Sendable (JSONValue, StepContext) async throws -> StepOutcome

    private var runners: [String: Runner] = [:]
    private var schemas: [String: StepSchema] = [:]

    public init() {}

    /// The step types Vigil ships with, notifying the channels of the environment (read at each run).
    public static var standard: StepRegistry { standard(channels: nil) }

    /// The step types Vigil ships with; `channels` is where escalations, rollback alerts and
    /// routing changes go (`nil`: the environment's, read at each run).
    public static func standard(channels: ChannelDirectory?) -> StepRegistry {
        var registry = StepRegistry()
        registry.register(SleepStep())
        registry.register(ApprovalStep())
        registry.register(CommandStep())
        registry.register(HTTPStep())
        registry.register(MonitorStep())
        registry.register(EvaluateStep())
        registry.register(EscalateStep(channels: channels))
        registry.register(RetrainStep())
        registry.register(ShadowCompareStep())
        registry.register(PromoteStep(channels: channels))
        return registry
    }

    /// Adds a step type (replacing one of the same name).
    public mutating func register<Step: WorkflowStep>(_ step: Step) {
        schemas[Step.typeName] = Step.schema
        runners[Step.typeName] = { parameters, context in
            let decoded: Step.Parameters
            do {
                decoded = try JSONDecoder().decode(Step.Parameters.self, from: JSONEncoder().encode(parameters))
            } catch {
                return .failed("invalid parameters for \(Step.typeName): \(DecodingProblem.describe(error))", retryable: false)
            }
            return try await step.run(decoded, in: context)
        }
    }

    /// Whether a step type can run here.
    public func canRun(_ typeName: String) -> Bool { runners[typeName] != nil }

    func runner(for typeName: String) -> Runner? { runners[typeName] }

    /// The schemas validation checks against: the built-in vocabulary plus every registered type.
    public var catalog: StepCatalog {
        var catalog = StepCatalog.builtIn
        for schema in schemas.values { catalog.register(schema) }
        return catalog
    }
}

/// Readable text for a decoding error.
enum DecodingProblem {
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case let .keyNotFound(key, context): return "missing '\(([path(context)] + [key.stringValue]).filter { !$0.isEmpty }.joined(separator: "."))'"
        case let .typeMismatch(type, context): return "'\(path(context))' should be \(type)"
        case let .valueNotFound(type, context): return "'\(path(context))' should be \(type)"
        case let .dataCorrupted(context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
