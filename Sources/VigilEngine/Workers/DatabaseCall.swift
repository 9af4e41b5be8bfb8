import Foundation
import Synchronization
import VigilStore

/// The worker's own database calls, with a deadline.
///
/// A call that never returns — seen after a PostgreSQL restart, with nothing left to wake it —
/// would stop a worker for good. Past the deadline the call is cancelled and abandoned, and the
/// caller's retry takes over; claims, renewals and completions are all safe to repeat.
enum DatabaseCall {
    /// Runs `operation` with a deadline of `seconds`, on `executor` when one is given.
    static func bounded<Result: Sendable>(
        _ seconds: TimeInterval, on executor: (any TaskExecutor)? = nil, _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let call = Task(executorPreference: executor) { try await operation() }
        let outcome = Mutex<Swift.Result<Result, any Error>?>(nil)
        let waiter = Task<Void, Never>(executorPreference: executor) {
            let result = await call.result
            outcome.withLock { $0 = result }
        }
        let finished = await withTaskCancellationHandler {
            await waiter.finishes(before: { try? await Task.sleep(for: .milliseconds(Int64(seconds * 1_000))) }, on: executor)
        } onCancel: {
            call.cancel()
        }
        guard finished, let result = outcome.withLock({ $0 }) else {
            call.cancel()
            throw StoreError(.unreachable, "the database did not answer within \(Int(seconds)) s")
        }
        return try result.get()
    }
}
