import Foundation
import VigilStore

/// The one source of time in the engine: schedules, timers, leases, backoff and windows all read
/// it, so tests and the demo can run days of schedules in seconds against the production code.
public protocol EngineClock: Sendable {
    /// The current time on this clock.
    func now() -> Date
    /// Waits until `seconds` of this clock's time have passed.
    func sleep(for seconds: TimeInterval) async throws
    /// Waits as ``sleep(for:)`` does, woken on `executor`'s thread rather than through the
    /// cooperative pool, for loops that must keep time while the pool is busy.
    func sleep(for seconds: TimeInterval, on executor: ThreadExecutor) async throws
}

extension EngineClock {
    /// A clock whose time does not pass on its own has nothing to wake on a thread.
    public func sleep(for seconds: TimeInterval, on executor: ThreadExecutor) async throws {
        try await sleep(for: seconds)
    }

    /// Waits until the clock reads `date` (returns at once if it already has).
    public func sleep(until date: Date) async throws {
        let remaining = date.timeIntervalSince(now())
        if remaining > 0 { try await sleep(for: remaining) }
    }
}

/// Wall-clock time: production.
public struct SystemClock: EngineClock {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(for seconds: TimeInterval) async throws {
        try await Task.sleep(for: .milliseconds(Int64(max(0, seconds) * 1_000)))
    }

    public func sleep(for seconds: TimeInterval, on executor: ThreadExecutor) async throws {
        try await executor.sleep(for: seconds)
    }
}
