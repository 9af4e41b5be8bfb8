import ArgumentParser
import Foundation
import Logging
import VigilEngine
import VigilStore
import VigilWorkflow

/// `vigil bench engine`: throughput and dispatch latency of the engine on a fresh embedded
/// cluster with durable commits (fsync and synchronous_commit on).
struct EngineBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Runs per second and steps per second with 1, 2 and 4 workers; ready-to-running latency when idle."
    )

    @Option(help: "Worker counts to measure, comma-separated.") var workers = "1,2,4"
    @Option(help: "Runs of the 3-step workflow per measurement.") var runs = 500
    @Option(help: "Steps each worker runs at once.") var concurrency = 16
    @Option(help: "Runs started one at a time on an idle worker, for the latency figures.") var latencyRuns = 50
    @Option(name: .customLong("server-url"), help: ArgumentHelp(
        "Measure on this PostgreSQL server (in a throwaway database) instead of a fresh embedded cluster; see benchmarks/dbos.",
        valueName: "postgres-url"
    ))
    var serverURL: String?

    /// `noop`: the trivial step the benchmark measures the engine with.
    struct NoopStep: WorkflowStep {
        struct Parameters: Decodable, Sendable {}
        static let schema = StepSchema(typeName: "noop", summary: "Do nothing.")
        func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome { .completed([:]) }
    }

    static let workflow = "name: bench\nsteps:\n  a: { uses: noop }\n  b: { uses: noop, needs: a }\n  c: { uses: noop, needs: b }\n"

    func run() async throws {
        let counts = workers.split(separator: ",").compactMap { Int($0) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }) else { throw ValidationError("--workers takes counts such as 1,2,4") }
        var registry = StepRegistry.standard
        registry.register(NoopStep())
        var figures: [String: Any] = ["benchmark": "engine", "runs": runs, "steps_per_run": 3, "concurrency": concurrency, "durable_commits": true]
        let server = try serverURL.map { url in
            do { return try DatabaseConfiguration(url: url) } catch { throw ValidationError("--server-url: \(error)") }
        }
        try await BenchCluster.with(maximumConnections: 60, server: server) { database, logger in
            let spec = try WorkflowLoader.parse(Array(Self.workflow.utf8), file: "bench.yaml", catalog: registry.catalog)
            _ = try await WorkflowStore(database: database).apply([WorkflowFile(path: "bench.yaml", source: Self.workflow, spec: spec)], actor: "bench")
            for count in counts {
                let seconds = try await measureThroughput(database, registry: registry, workers: count, logger: logger)
                figures["runs_per_s_\(count)w"] = Double(runs) / seconds
                figures["steps_per_s_\(count)w"] = Double(runs * 3) / seconds
            }
            let latencies = try await measureLatency(database, registry: registry, logger: logger)
            figures["dispatch_p50_ms"] = latencies.quantile(0.5)
            figures["dispatch_p95_ms"] = latencies.quantile(0.95)
        }
        try printBenchmarkLine(figures)
    }

    private func makeWorkers(_ database: Database, registry: StepRegistry, count: Int, logger: Logger) -> [Worker] {
        (0..<count).map { index in
            var configuration = Worker.Configuration()
            configuration.concurrency = concurrency
            configuration.identifier = "bench-\(index)"
            configuration.pollInterval = 1
            return Worker(database: database, registry: registry, configuration: configuration, logger: logger)
        }
    }

    /// Seconds for `workers` workers to finish `runs` runs created up front.
    private func measureThroughput(_ database: Database, registry: StepRegistry, workers count: Int, logger: Logger) async throws -> Double {
        let launcher = RunLauncher(database: database)
        var ids: [Int] = []
        for _ in 0..<runs { ids.append(try await launcher.start("bench", trigger: RunTrigger(kind: .manual, actor: "bench")).runID) }
        let last = ids.max()!
        let workers = makeWorkers(database, registry: registry, count: count, logger: logger)
        let store = RunStore(database: database)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            let start = ContinuousClock.now
            for worker in workers { group.addTask { try await worker.run() } }
            while true {
                if try await store.unfinishedRunCount(throughID: last) == 0 { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            let elapsed = ContinuousClock.now - start
            for worker in workers { worker.stop() }
            try await group.waitForAll()
            let failed = try await store.list(workflow: "bench", state: .failed, limit: 1)
            guard failed.isEmpty else { throw CommandFailure("benchmark run \(failed[0].id) failed: \(failed[0].error ?? "")") }
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        }
    }

    /// Milliseconds from a step becoming ready to a worker running it, one run at a time on an idle worker.
    private func measureLatency(_ database: Database, registry: StepRegistry, logger: Logger) async throws -> LatencySample {
        let workers = makeWorkers(database, registry: registry, count: 1, logger: logger)
        let launcher = RunLauncher(database: database)
        var ids: [Int] = []
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in workers { group.addTask { try await worker.run() } }
            try await Task.sleep(for: .milliseconds(300))
            for _ in 0..<latencyRuns {
                let id = try await launcher.start("bench", trigger: RunTrigger(kind: .manual, actor: "bench")).runID
                ids.append(id)
                while try await RunStore(database: database).run(id).state.isActive { try await Task.sleep(for: .milliseconds(2)) }
                try await Task.sleep(for: .milliseconds(20))
            }
            for worker in workers { worker.stop() }
            try await group.waitForAll()
        }
        let values = try await RunStore(database: database).dispatchLatencies(ofRuns: ids)
        return LatencySample(values: values.sorted())
    }

    struct LatencySample {
        let values: [Double]
        func quantile(_ p: Double) -> Double {
            guard !values.isEmpty else { return .nan }
            return values[min(values.count - 1, Int((p * Double(values.count - 1)).rounded()))]
        }
    }
}
