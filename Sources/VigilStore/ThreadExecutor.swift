import Foundation
import NIOCore
import NIOPosix

/// A task executor on a thread of its own, for work that must not wait behind busy tasks.
///
/// Steps, statistics and everything else a process does share Swift's cooperative pool, one
/// thread per core, and a task there runs until it suspends. On a loaded host a few busy tasks
/// can hold every pool thread for longer than a lease, and a worker that is alive and well would
/// then lose its steps to another worker. Work given to a `ThreadExecutor` runs on a thread the
/// operating system schedules by itself, and ``sleep(for:)`` wakes it there: `Task.sleep` wakes
/// a task through the cooperative pool, however its executor is chosen.
public final class ThreadExecutor: TaskExecutor {
    /// The thread that renews every worker's leases in this process.
    public static let leases = ThreadExecutor()
    /// The thread that runs every connection pool's own work (opening, checking and closing
    /// connections) in this process, so a query never waits for a busy pool to open one.
    static let connectionPools = ThreadExecutor()

    private let eventLoop: any EventLoop

    /// Starts a thread of its own, which lives as long as the process.
    public init() {
        eventLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1).next()
    }

    /// Waits `seconds` on this executor's thread; throws `CancellationError` when cancelled.
    public func sleep(for seconds: TimeInterval) async throws {
        let timer = eventLoop.scheduleTask(in: .nanoseconds(Int64(max(0, seconds) * 1_000_000_000))) {}
        do {
            try await withTaskCancellationHandler {
                try await timer.futureResult.get()
            } onCancel: {
                timer.cancel()
            }
        } catch {
            throw CancellationError()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
