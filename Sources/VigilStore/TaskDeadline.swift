import Synchronization

extension Task where Success == Void, Failure == Never {
    /// Waits until this task finishes or `deadline` returns, whichever is first; `true` when the
    /// task finished. Past the deadline the task is left running: this is for shutdown paths that
    /// must not hang on work that ignores cancellation.
    ///
    /// The watching tasks run on `executor` when one is given, so a caller kept off the
    /// cooperative pool is not woken through it.
    public func finishes(before deadline: @escaping @Sendable () async -> Void, on executor: (any TaskExecutor)? = nil) async -> Bool {
        let first = FirstOf()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let timer = Task<Void, Never>(executorPreference: executor) {
                await deadline()
                if first.claim() { continuation.resume(returning: false) }
            }
            Task<Void, Never>(executorPreference: executor) {
                await self.value
                // Claim before cancelling the timer: a cancelled timer wakes at once, and claiming
                // first is what keeps it from reporting a task that finished as one that did not.
                if first.claim() { continuation.resume(returning: true) }
                timer.cancel()
            }
        }
    }
}

/// Lets exactly one of several racing callers through.
private final class FirstOf: Sendable {
    private let claimed = Mutex(false)

    /// `true` for the first caller only.
    func claim() -> Bool {
        claimed.withLock { isClaimed in
            defer { isClaimed = true }
            return !isClaimed
        }
    }
}
