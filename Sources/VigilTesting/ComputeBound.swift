import Foundation
import Testing
import VigilStore

/// Runs a test on threads of its own instead of Swift's cooperative pool.
///
/// Every test of a test process shares the cooperative pool, one thread per core, and a test that
/// computes without suspending (a statistic against its reference, a model fit) holds a pool
/// thread until it is done. A few of those at once leave no thread to wake the tests that are
/// waiting on a server, a timer or a lease, which then miss deadlines a busy machine had nothing
/// to do with. Mark such suites `.computeBound`. They do not share ``ThreadExecutor/compute``
/// either: their cases would queue every other test's steps behind them.
public struct ComputeBound: SuiteTrait, TestTrait, TestScoping {
    /// The threads compute-bound tests run on, one per core.
    static let threads = ThreadExecutor(threads: ProcessInfo.processInfo.activeProcessorCount)

    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        try await withTaskExecutorPreference(Self.threads) { try await function() }
    }
}

extension Trait where Self == ComputeBound {
    /// Runs the test, or every test of the suite, on the compute-bound tests' own threads.
    public static var computeBound: Self { ComputeBound() }
}
