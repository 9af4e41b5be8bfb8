import Foundation
import Logging
import VigilStore
import VigilWorkflow

/// Starts runs of stored workflows — by hand, on a schedule, or on an event — applying the
/// workflow's parameters, concurrency policy and idempotency.
public struct RunLauncher: Sendable {
    public let database: Database
    public let clock: any EngineClock
    let workflows: WorkflowStore
    let runs: RunStore

    public init(database: Database, clock: any EngineClock = SystemClock()) {
        self.database = database
        self.clock = clock
        workflows = WorkflowStore(database: database)
        runs = RunStore(database: database)
    }

    /// Starts a run of the latest version of `workflow`.
    ///
    /// - Parameters:
    ///   - params: values by name, checked against the workflow's declared parameters.
    ///   - idempotencyKey: the same key never starts a second run.
    /// - Throws: ``StoreError`` for an unknown workflow, ``LaunchError`` for bad parameters.
    public func start(
        _ workflow: String, params: [String: JSONValue] = [:], trigger: RunTrigger, idempotencyKey: String? = nil, scheduledFor: Date? = nil
    ) async throws -> RunCreation {
        let version = try await workflows.version(of: workflow)
        return try await start(version, params: params, trigger: trigger, idempotencyKey: idempotencyKey, scheduledFor: scheduledFor)
    }

    func start(
        _ version: WorkflowVersion, params: [String: JSONValue], trigger: RunTrigger, idempotencyKey: String?, scheduledFor: Date?
    ) async throws -> RunCreation {
        let resolved = try Self.resolve(params, for: version.spec)
        return try await runs.createRun(
            version, params: resolved, trigger: trigger, idempotencyKey: idempotencyKey,
            concurrency: try Self.concurrency(of: version.spec, params: resolved, trigger: trigger),
            scheduledFor: scheduledFor, now: clock.now()
        )
    }

    /// Starts every workflow whose triggers match an event (an alert, a webhook, a named event).
    ///
    /// - Returns: each matching workflow with what happened.
    public func trigger(_ trigger: RunTrigger, idempotencyKey: String? = nil) async throws -> [(workflow: String, creation: RunCreation)] {
        var started: [(workflow: String, creation: RunCreation)] = []
        for summary in try await workflows.list() where summary.state == .enabled {
            let version = try await workflows.version(of: summary.name)
            guard version.spec.triggers.contains(where: { Self.matches($0, trigger) }) else { continue }
            let key = idempotencyKey.map { "\(summary.name):\($0)" }
            started.append((summary.name, try await start(version, params: [:], trigger: trigger, idempotencyKey: key, scheduledFor: nil)))
        }
        return started
    }

    static func matches(_ declared: Trigger, _ event: RunTrigger) -> Bool {
        guard declared.kind == event.kind else { return false }
        if let name = declared.name, name != event.name { return false }
        return declared.labels.allSatisfy { event.labels[$0.key] == $0.value }
    }

    /// Declared defaults merged with `params`, each checked against its declaration.
    static func resolve(_ params: [String: JSONValue], for spec: WorkflowSpec) throws(LaunchError) -> [String: JSONValue] {
        var resolved: [String: JSONValue] = [:]
        let declared = spec.parameters.map(\.name)
        for name in params.keys where !declared.contains(name) {
            throw LaunchError("workflow \(spec.name) has no parameter '\(name)'" + (declared.isEmpty ? "" : Suggestion.hint(for: name, in: declared)))
        }
        for parameter in spec.parameters {
            guard let value = params[parameter.name] ?? parameter.defaultValue else {
                throw LaunchError("workflow \(spec.name) needs parameter '\(parameter.name)' (--param \(parameter.name)=…)")
            }
            guard parameter.type.accepts(value) else {
                throw LaunchError("parameter '\(parameter.name)' must be of type \(parameter.type.rawValue), got \(value.typeName) '\(value)'")
            }
            if let allowed = parameter.allowed, !allowed.isEmpty, !allowed.contains(value) {
                throw LaunchError("parameter '\(parameter.name)' must be one of \(allowed.map(\.description).joined(separator: ", "))")
            }
            if let number = value.numberValue {
                if let minimum = parameter.minimum, number < minimum { throw LaunchError("parameter '\(parameter.name)' must be at least \(JSONValue.number(minimum))") }
                if let maximum = parameter.maximum, number > maximum { throw LaunchError("parameter '\(parameter.name)' must be at most \(JSONValue.number(maximum))") }
            }
            resolved[parameter.name] = value
        }
        return resolved
    }

    /// Text from the command line as a value of the parameter's declared type.
    public static func parse(_ text: String, as name: String, for spec: WorkflowSpec) -> JSONValue {
        switch spec.parameters.first(where: { $0.name == name })?.type {
        case .number?, .integer?: Double(text).map(JSONValue.number) ?? .string(text)
        case .boolean?: ["true": .bool(true), "false": .bool(false)][text.lowercased()] ?? .string(text)
        case .list?, .object?, .any?: (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .string(text)
        default: .string(text)
        }
    }

    static func concurrency(of spec: WorkflowSpec, params: [String: JSONValue], trigger: RunTrigger) throws(LaunchError) -> RunStore.ConcurrencyRule? {
        guard let concurrency = spec.concurrency else { return nil }
        do {
            let key = try Template(concurrency.key).evaluate(in: ExpressionContext(params: params, trigger: trigger.expressionValue))
            return RunStore.ConcurrencyRule(key: "\(spec.name):\(key)", policy: concurrency.policy)
        } catch {
            throw LaunchError("cannot evaluate the concurrency key '\(concurrency.key)': \(error.message)")
        }
    }
}

/// A run that cannot be started as asked.
public struct LaunchError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
