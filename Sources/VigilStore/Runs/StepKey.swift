/// One step of one run: what leases, completions and the worker's own bookkeeping are keyed by.
public struct StepKey: Hashable, Sendable, CustomStringConvertible {
    public let runID: Int
    public let name: String

    public init(runID: Int, name: String) {
        self.runID = runID
        self.name = name
    }

    /// `run/step`, as logs show it.
    public var description: String { "\(runID)/\(name)" }
}

extension ClaimedStep {
    public var key: StepKey { StepKey(runID: runID, name: name) }
}

extension StepCompletion {
    public var key: StepKey { StepKey(runID: runID, name: name) }
}
