import Foundation
import Synchronization

/// Time that moves only when told: the demo and tests drive days of schedules, timers and leases
/// hour by hour, and the same inputs give the same history.
public final class ManualClock: EngineClock {
    private let current: Mutex<Date>

    public init(_ start: Date = Date()) {
        current = Mutex(start)
    }

    public func now() -> Date { current.withLock { $0 } }

    /// Moves the clock `seconds` forward.
    public func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    /// Sets the clock to `date` (never backwards).
    public func advance(to date: Date) {
        current.withLock { $0 = max($0, date) }
    }

    /// Waits, polling, until the clock has been moved past `seconds` from now.
    public func sleep(for seconds: TimeInterval) async throws {
        let target = now().addingTimeInterval(seconds)
        while now() < target { try await Task.sleep(for: .milliseconds(5)) }
    }
}
