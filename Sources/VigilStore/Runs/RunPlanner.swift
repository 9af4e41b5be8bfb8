import VigilWorkflow

/// Walks a run's graph: which pending steps have all their needs finished (repeatedly, so skips
/// propagate), which steps a retry reopens, and the context a condition is evaluated in. What
/// each of those steps becomes, and the run's own state, ``StepLifecycle`` decides. Pure: the
/// store applies the decisions in the same transaction.
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
        let needs = FinishedNeeds(succeeded: needsSucceeded, isRoot: step.needs.isEmpty, cancelled: cancelled)
        let outcome = StepLifecycle.outcome(ofNeedsFinished: needs, condition: step.condition) { (expression) throws(ExpressionError) -> Bool in
            var context = base
            context.upstreamFailed = upstreamFailed
            context.cancelled = cancelled
            context.steps = snapshots.compactMapValues { snapshot in
                snapshot.state.isTerminal ? ExpressionContext.StepResult(state: snapshot.state.rawValue, outputs: snapshot.outputs) : nil
            }
            return try ExpressionEvaluator(context: context).condition(expression)
        }
        return Decision(step: step.name, to: outcome.state, reason: outcome.reason ?? "")
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

    /// The run's state given its steps, as ``StepLifecycle/runState(of:)`` decides it.
    public func runState(_ snapshots: [String: Snapshot]) -> RunState {
        StepLifecycle.runState(of: snapshots.map { name, snapshot in
            RunStepState(state: snapshot.state, continuesOnFailure: spec.step(named: name)?.onFailure == .continue)
        })
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
