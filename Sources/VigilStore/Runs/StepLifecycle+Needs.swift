import VigilWorkflow

/// How the steps a pending step needs ended, once the last of them has (or, for a step that
/// needs nothing, once its run starts).
public struct FinishedNeeds: Sendable, Equatable {
    /// Every step it needs succeeded, or failed with `on_failure: continue`.
    public var succeeded: Bool
    /// It needs no step: it is one of the run's first.
    public var isRoot: Bool
    /// The run was cancelled.
    public var cancelled: Bool

    public init(succeeded: Bool, isRoot: Bool = false, cancelled: Bool = false) {
        self.succeeded = succeeded
        self.isRoot = isRoot
        self.cancelled = cancelled
    }
}

/// A step as its run's state sees it: where it is, and whether its failure fails the run.
public struct RunStepState: Sendable, Equatable {
    public var state: StepState
    /// `on_failure: continue`: the run goes on, and ends succeeded, when this step fails.
    public var continuesOnFailure: Bool

    public init(state: StepState, continuesOnFailure: Bool = false) {
        self.state = state
        self.continuesOnFailure = continuesOnFailure
    }
}

extension StepLifecycle {
    /// The outcome for a pending step once everything it needs has finished (`needsFinished`):
    /// `ready`, or `skipped` with why.
    ///
    /// Conditions follow GitHub Actions: a step whose `if:` uses no status function runs only
    /// when its needs succeeded; `failure()` is true when a step upstream failed; `always()`
    /// runs regardless. A condition that cannot be parsed or evaluated skips the step and says
    /// why. `evaluate` evaluates the parsed condition against the run (the caller supplies the
    /// context: parameters, outputs so far, whether anything upstream failed).
    public static func outcome(
        ofNeedsFinished needs: FinishedNeeds, condition source: String?, evaluate: (Expression) throws(ExpressionError) -> Bool
    ) -> AttemptOutcome {
        func ready(_ reason: String) -> AttemptOutcome { AttemptOutcome(state: .ready, reason: reason) }
        func skipped(_ reason: String) -> AttemptOutcome { AttemptOutcome(state: .skipped, reason: reason) }
        guard let source else {
            if needs.cancelled { return skipped("the run was cancelled") }
            return needs.succeeded ? ready(needs.isRoot ? "the run started" : "its needs succeeded") : skipped("a step it needs did not succeed")
        }
        do {
            let expression = try ConditionSource.parse(source)
            if !expression.usesStatusFunction && !needs.succeeded {
                return skipped("a step it needs did not succeed")
            }
            return try evaluate(expression) ? ready("if: \(source) is true") : skipped("if: \(source) is false")
        } catch {
            return skipped("if: \(source) could not be evaluated: \(error.message)")
        }
    }

    /// The run's state given its steps': terminal when every step is, else `running` while a
    /// step is ready or running and `waiting` while they all wait (a timer, an approval). A
    /// finished run `failed` if a step failed (without `on_failure: continue`), was `cancelled`
    /// if a step was cancelled, and `succeeded` otherwise.
    public static func runState(of steps: [RunStepState]) -> RunState {
        let states = steps.map(\.state)
        guard states.allSatisfy(\.isTerminal) else {
            return states.contains(.ready) || states.contains(.running) ? .running : .waiting
        }
        if steps.contains(where: { $0.state == .failed && !$0.continuesOnFailure }) { return .failed }
        return states.contains(.cancelled) ? .cancelled : .succeeded
    }
}
