import Testing
import VigilStore

/// Runs a test on ``ThreadExecutor/compute`` instead of Swift's cooperative pool.
///
/// Every test of a test process shares the cooperative pool, one thread per core, and a test that
/// computes without suspending (a statistic against its reference, a model fit) holds a pool
/// thread until it is done. A few of those at once leave no thread to wake the tests that are
/// waiting on a server, a timer or a lease, which then miss deadlines a busy machine had nothing
/// to do with. Mark such suites `.computeBound`.
public struct ComputeBound: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        try await withTaskExecutorPreference(ThreadExecutor.compute) { try await function() }
    }
}

extension Trait where Self == ComputeBound {
    /// Runs the test, or every test of the suite, on the compute threads.
    public static var computeBound: Self { ComputeBound() }
}
