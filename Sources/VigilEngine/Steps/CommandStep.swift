import Foundation
import VigilWorkflow

/// `command`: runs a program. Its stdout and stderr go to the step log; a JSON object it writes to
/// `$VIGIL_OUTPUTS` becomes the step's outputs. The step's idempotency key, run and attempt are in
/// its environment. On timeout or cancellation its whole process group is killed.
public struct CommandStep: WorkflowStep {
    public struct Parameters: Decodable, Sendable {
        public let run: [String]
        public let env: [String: String]?
        public let workingDirectory: String?

        enum CodingKeys: String, CodingKey {
            case run, env
            case workingDirectory = "working_directory"
        }
    }

    public static var schema: StepSchema { StepCatalog.builtIn.schemas["command"]! }

    public init() {}

    public func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        let outputs = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-outputs-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: outputs) }
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VIGIL_") && !$0.key.hasPrefix("PG") }
        environment.merge(parameters.env ?? [:]) { $1 }
        environment.merge([
            "VIGIL_OUTPUTS": outputs.path, "VIGIL_IDEMPOTENCY_KEY": context.idempotencyKey, "VIGIL_RUN_ID": String(context.runID),
            "VIGIL_STEP": context.stepName, "VIGIL_ATTEMPT": String(context.attempt),
        ]) { $1 }
        let group: ProcessGroup
        do {
            group = try ProcessGroup.start(parameters.run, environment: environment, workingDirectory: parameters.workingDirectory)
        } catch {
            return .failed(error.description, retryable: false)
        }
        let exit = try await group.wait { stream, lines in await context.log(lines, stream: stream) }
        guard exit.status == 0 else {
            return .failed("\(parameters.run[0]) exited with status \(exit.status)", retryable: true)
        }
        var result: [String: JSONValue] = ["exit_code": .number(0)]
        if let data = try? Data(contentsOf: outputs), !data.isEmpty {
            guard case let .object(written)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
                return .failed("\(parameters.run[0]) wrote outputs that are not a JSON object to $VIGIL_OUTPUTS", retryable: false)
            }
            result.merge(written) { _, new in new }
        }
        return .completed(result)
    }
}
