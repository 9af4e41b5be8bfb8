import Synchronization

/// Wakes a waiting loop: fired by NOTIFY, a finished step, or a timer. A fire with nobody waiting
/// is remembered, so a wake-up is never lost between checking for work and starting to wait.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func fire() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when fired, or when `timer` finishes, whichever is first.
    func wait(timer: @escaping @Sendable () async throws -> Void) async {
        let sleeper = Task {
            // Only a timer that ran out wakes the waiter; one cancelled because the waiter already
            // woke must not leave a stale wake-up behind (that would make every later wait return at once).
            do {
                try await timer()
                self.fire()
            } catch {}
        }
        defer { sleeper.cancel() }
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.pending {
                    state.pending = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}
