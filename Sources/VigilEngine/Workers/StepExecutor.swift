import Foundation
import Logging
import VigilStore
import VigilWorkflow

/// Runs one claimed step: resolves its parameters, honours its approval gate and timeout, and
/// reports how the attempt ended as a ``StepCompletion``; the store's ``StepLifecycle`` decides
/// what follows (a retry, a final failure).
struct StepExecutor: Sendable {
    let store: RunStore
    let registry: StepRegistry
    let clock: any EngineClock
    let logger: Logger

    struct Timeout: Error {}

    func execute(_ claimed: ClaimedStep) async -> StepCompletion {
        func completion(_ result: AttemptEnd) -> StepCompletion {
            StepCompletion(runID: claimed.runID, name: claimed.name, attempt: claimed.attempt, result: result)
        }
        let spec: WorkflowSpec, run: RunContext
        do {
            spec = try await store.spec(claimed.workflow, version: claimed.workflowVersion)
            guard let step = spec.step(named: claimed.name) else {
                return completion(.failed(error: "workflow \(claimed.workflow)@\(claimed.workflowVersion) has no step '\(claimed.name)'", retryable: false))
            }
            // Upstream outputs are read only when the step's parameters refer to them.
            let readsSteps = String(decoding: (try? JSONEncoder().encode(step.with)) ?? Data(), as: UTF8.self).contains("steps.")
            run = readsSteps ? try await store.context(ofRun: claimed.runID) : RunContext(params: claimed.params, trigger: claimed.trigger, steps: [:])
        } catch {
            return completion(.notStarted(reason: "cannot load the run: \(StoreError.explain(error))", retryAt: clock.now().addingTimeInterval(5)))
        }
        let step = spec.step(named: claimed.name)!
        if let gate = step.approval, claimed.memo?["decision"] == nil {
            return completion(.awaitingApproval(memo: gate.waitingMemo(askedAt: clock.now())))
        }
        let parameters: JSONValue
        do {
            parameters = try resolve(step.with, run: run, claimed: claimed, spec: spec)
        } catch {
            return completion(.failed(error: "cannot resolve with: \(error.message)", retryable: false))
        }
        guard let runner = registry.runner(for: step.uses) else {
            return completion(.failed(error: "step type '\(step.uses)' is not available on this worker", retryable: false))
        }
        var stepLogger = logger
        stepLogger[metadataKey: "run"] = "\(claimed.runID)"
        stepLogger[metadataKey: "step"] = "\(claimed.name)"
        let context = StepContext(
            runID: claimed.runID, stepName: claimed.name, attempt: claimed.attempt, idempotencyKey: claimed.idempotencyKey,
            workflow: spec, workflowVersion: claimed.workflowVersion, params: run.params, trigger: run.trigger,
            memo: claimed.resuming || claimed.memo?["decision"] != nil ? claimed.memo : nil, database: store.database, clock: clock, logger: stepLogger,
            logSink: StepLogSink(store: store, runID: claimed.runID, step: claimed.name, attempt: claimed.attempt, clock: clock)
        )
        let timeout = step.timeout ?? spec.defaults.timeout
        let outcome: StepOutcome
        do {
            // On the compute threads: a step busy computing never holds up the process's
            // claims, deliveries and requests on the cooperative pool.
            outcome = try await withTimeout(timeout) {
                try await withTaskExecutorPreference(ThreadExecutor.compute) { try await runner(parameters, context) }
            }
        } catch is Timeout {
            outcome = .failed("timed out after \(timeout?.description ?? "?")", retryable: true)
        } catch is CancellationError {
            outcome = .failed("cancelled", retryable: true)
        } catch {
            outcome = .failed(StoreError.explain(error), retryable: true)
        }
        // Lines the database refused during the step get one more chance before it completes.
        await context.logSink.flush()
        switch outcome {
        case let .completed(outputs):
            return completion(.succeeded(outputs: outputs))
        case let .failed(message, retryable):
            return completion(.failed(error: message, retryable: retryable))
        case let .suspended(until, memo):
            return completion(.sleeping(until: until, memo: memo))
        case let .awaitingApproval(memo):
            return completion(.awaitingApproval(memo: memo))
        }
    }

    /// The step's `with:` with every `${{ }}` evaluated against the run.
    private func resolve(_ with: [String: JSONValue], run: RunContext, claimed: ClaimedStep, spec: WorkflowSpec) throws(ExpressionError) -> JSONValue {
        var params = Dictionary(uniqueKeysWithValues: spec.parameters.compactMap { parameter in parameter.defaultValue.map { (parameter.name, $0) } })
        params.merge(run.params) { $1 }
        let context = ExpressionContext(
            params: params, steps: run.steps,
            run: ["id": .number(Double(claimed.runID)), "attempt": .number(Double(claimed.attempt)), "workflow": .string(spec.name),
                  "version": .number(Double(claimed.workflowVersion)), "model": spec.model.map(JSONValue.string) ?? .null],
            trigger: run.trigger.expressionValue
        )
        func evaluate(_ value: JSONValue) throws(ExpressionError) -> JSONValue {
            switch value {
            case let .string(text) where text.contains("${{"): return try Template(text).evaluate(in: context)
            case let .array(items):
                var result: [JSONValue] = []
                for item in items { result.append(try evaluate(item)) }
                return .array(result)
            case let .object(object):
                var result: [String: JSONValue] = [:]
                for (key, item) in object { result[key] = try evaluate(item) }
                return .object(result)
            default: return value
            }
        }
        return try evaluate(.object(with))
    }

    /// Runs `body`, cancelling it when `timeout` of clock time passes first.
    private func withTimeout<Result: Sendable>(_ timeout: WorkflowDuration?, _ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        guard let timeout else { return try await body() }
        let clock = self.clock
        return try await withThrowingTaskGroup(of: Result.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await clock.sleep(for: timeout.seconds)
                throw Timeout()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}
