import Foundation
import NIOCore
import NIOPosix

/// A task executor on threads of its own, for work that must not wait behind busy tasks, or must
/// not keep others waiting.
///
/// Steps, statistics and everything else a process does share Swift's cooperative pool, one
/// thread per core, and a task there runs until it suspends. On a loaded host a few busy tasks
/// can hold every pool thread for longer than a lease, and a worker that is alive and well would
/// then lose its steps to another worker; a drift analysis of a large window would hold up every
/// request and delivery of the process while it computes. Work given to a `ThreadExecutor` runs
/// on threads the operating system schedules by themselves, and ``sleep(for:)`` wakes it there:
/// `Task.sleep` wakes a task through the cooperative pool, however its executor is chosen.
public final class ThreadExecutor: TaskExecutor {
    /// The thread that renews every worker's leases in this process.
    public static let leases = ThreadExecutor()
    /// The thread that runs every connection pool's own work (opening, checking and closing
    /// connections) in this process, so a query never waits for a busy pool to open one.
    static let connectionPools = ThreadExecutor()
    /// The threads, one per core, that run steps and other long CPU-bound work (drift analyses,
    /// model fits, parsing an upload) in this process, so that the cooperative pool stays free
    /// for the loops that keep time: claims, notifications, requests, timers.
    public static let compute = ThreadExecutor(threads: ProcessInfo.processInfo.activeProcessorCount)

    /// Runs the jobs, first come first served, each on whichever thread is free.
    private let threads: NIOThreadPool
    /// Keeps the time for ``sleep(for:)``, on a thread of its own.
    private let timers: any EventLoop

    /// Starts `threads` threads (at least one), which live as long as the process.
    public init(threads: Int = 1) {
        self.threads = NIOThreadPool(numberOfThreads: max(1, threads))
        self.threads.start()
        timers = MultiThreadedEventLoopGroup(numberOfThreads: 1).next()
    }

    /// Waits `seconds`, woken on this executor's threads; throws `CancellationError` when cancelled.
    public func sleep(for seconds: TimeInterval) async throws {
        let timer = timers.scheduleTask(in: .nanoseconds(Int64(max(0, seconds) * 1_000_000_000))) {}
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
        threads.submit { _ in job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
