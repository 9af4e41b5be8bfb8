import VigilWorkflow

/// Decides what happens next in a run: which pending steps become ready or are skipped, and
/// whether the run is done. Pure: the store applies its decisions in the same transaction.
///
/// Conditions follow GitHub Actions: a step whose `if:` uses no status function runs only when
/// every step it needs succeeded (or failed with `on_failure: continue`); `failure()` is true when
/// a step upstream failed; `always()` runs regardless. A condition that cannot be evaluated
/// skips the step and records why.
public struct RunPlanner: Sendable {
    /// A step's state and outputs, as the planner sees them.
    public struct Snapshot: Sendable {
        public var state: StepState
        public var outputs: [String: JSONValue]

        public init(state: StepState, outputs: [String: JSONValue] = [:]) {
            self.state = state
            self.outputs = outputs
        }
    }

    /// A change the planner decided.
    public struct Decision: Sendable, Equatable {
        public let step: String
        public let to: StepState
        public let reason: String
    }

    public let spec: WorkflowSpec
    private let order: [StepSpec]
    private let ancestors: [String: Set<String>]

    public init(spec: WorkflowSpec) {
        self.spec = spec
        order = WorkflowGraph(spec).topologicalOrder
        var ancestors: [String: Set<String>] = [:]
        for step in order {
            ancestors[step.name] = step.needs.reduce(into: Set(step.needs)) { $0.formUnion(ancestors[$1] ?? []) }
        }
        self.ancestors = ancestors
    }

    /// Moves every pending step whose needs are all finished to ready or skipped, repeatedly,
    /// so skips propagate. `base` supplies params, run and trigger for conditions.
    public func advance(_ snapshots: inout [String: Snapshot], base: ExpressionContext, cancelled: Bool = false) -> [Decision] {
        var decisions: [Decision] = []
        var changed = true
        while changed {
            changed = false
            for step in order where snapshots[step.name]?.state == .pending {
                let needs = step.needs.compactMap { snapshots[$0] }
                guard needs.allSatisfy({ $0.state.isTerminal }) else { continue }
                let decision = decide(step, snapshots: snapshots, base: base, cancelled: cancelled)
                snapshots[step.name]?.state = decision.to
                decisions.append(decision)
                changed = true
            }
        }
        return decisions
    }

    private func decide(_ step: StepSpec, snapshots: [String: Snapshot], base: ExpressionContext, cancelled: Bool) -> Decision {
        let upstreamFailed = (ancestors[step.name] ?? []).contains { name in
            snapshots[name]?.state == .failed && spec.step(named: name)?.onFailure != .continue
        }
        let needsSucceeded = step.needs.allSatisfy { name in
            let state = snapshots[name]?.state
            return state == .succeeded || (state == .failed && spec.step(named: name)?.onFailure == .continue)
        }
        guard let source = step.condition else {
            if cancelled { return Decision(step: step.name, to: .skipped, reason: "the run was cancelled") }
            return needsSucceeded
                ? Decision(step: step.name, to: .ready, reason: step.needs.isEmpty ? "the run started" : "its needs succeeded")
                : Decision(step: step.name, to: .skipped, reason: "a step it needs did not succeed")
        }
        do {
            let expression = try ConditionSource.parse(source)
            if !expression.usesStatusFunction && !needsSucceeded {
                return Decision(step: step.name, to: .skipped, reason: "a step it needs did not succeed")
            }
            var context = base
            context.upstreamFailed = upstreamFailed
            context.cancelled = cancelled
            context.steps = snapshots.compactMapValues { snapshot in
                snapshot.state.isTerminal ? ExpressionContext.StepResult(state: snapshot.state.rawValue, outputs: snapshot.outputs) : nil
            }
            let holds = try ExpressionEvaluator(context: context).condition(expression)
            return holds
                ? Decision(step: step.name, to: .ready, reason: "if: \(source) is true")
                : Decision(step: step.name, to: .skipped, reason: "if: \(source) is false")
        } catch {
            return Decision(step: step.name, to: .skipped, reason: "if: \(source) could not be evaluated: \(error.message)")
        }
    }

    /// The steps `vigil runs retry` reopens: `step` (or, without one, every failed, cancelled and
    /// skipped step) and everything downstream of them.
    public func stepsToRetry(_ snapshots: [String: Snapshot], from step: String?) -> Set<String> {
        var reopened = step.map { [$0] } ?? Set(snapshots.filter { [.failed, .cancelled, .skipped].contains($0.value.state) }.map(\.key))
        for candidate in order where !reopened.contains(candidate.name) && !reopened.isDisjoint(with: ancestors[candidate.name] ?? []) {
            reopened.insert(candidate.name)
        }
        return reopened
    }

    /// The run's state given its steps: terminal when every step is, else running or waiting.
    /// A finished run failed if a step failed (without `on_failure: continue`), was cancelled if a
    /// step was cancelled, and succeeded otherwise.
    public func runState(_ snapshots: [String: Snapshot]) -> RunState {
        let states = snapshots.values.map(\.state)
        guard states.allSatisfy(\.isTerminal) else {
            return states.contains(.ready) || states.contains(.running) ? .running : .waiting
        }
        let failed = snapshots.contains { name, snapshot in
            snapshot.state == .failed && spec.step(named: name)?.onFailure != .continue
        }
        if failed { return .failed }
        return states.contains(.cancelled) ? .cancelled : .succeeded
    }
}

/// Conditions may be written bare (`a == b`) or wrapped GitHub-style (`${{ a == b }}`).
public enum ConditionSource {
    public static func parse(_ source: String) throws(ExpressionError) -> Expression {
        let trimmed = source.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("${{") && trimmed.hasSuffix("}}") {
            return try ExpressionParser.parse(String(trimmed.dropFirst(3).dropLast(2)))
        }
        return try ExpressionParser.parse(trimmed)
    }
}
