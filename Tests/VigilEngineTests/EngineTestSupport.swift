import Foundation
import Logging
import Synchronization
import Testing
import VigilEngine
import VigilStore
import VigilWorkflow

/// `record`: writes one row per step into `side_effects`, keyed by the step's idempotency key, as
/// a well-behaved side effect does: a second execution (its lease lapsed on a starved worker and
/// another took it) changes no row but counts itself in `executions`, so a test sees it.
struct RecordStep: WorkflowStep {
    struct Parameters: Decodable, Sendable {
        let value: Double?
    }

    static let schema = StepSchema(
        typeName: "record", summary: "Record a side effect.", parameters: [.init("value", .number)], outputs: [.init("value", .number)]
    )

    func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        try await context.database.client.query("""
            INSERT INTO side_effects (idempotency_key, run_id, step, attempt) VALUES (\(context.idempotencyKey), \(context.runID), \(context.stepName), \(context.attempt))
            ON CONFLICT (idempotency_key) DO UPDATE SET executions = side_effects.executions + 1
            """)
        return .completed(["value": .number(parameters.value ?? 1)])
    }
}

/// `flaky`: fails its first `failures` attempts.
struct FlakyStep: WorkflowStep {
    struct Parameters: Decodable, Sendable {
        let failures: Int
    }

    static let schema = StepSchema(typeName: "flaky", summary: "Fail, then succeed.", parameters: [.init("failures", .integer, required: true)])

    func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        context.attempt <= parameters.failures ? .failed("planned failure \(context.attempt)", retryable: true) : .completed(["attempt": .number(Double(context.attempt))])
    }
}

/// `busy`: holds its thread for `seconds` without ever suspending, as CPU-bound work in a step does.
struct BusyStep: WorkflowStep {
    struct Parameters: Decodable, Sendable {
        let seconds: Double
    }

    static let schema = StepSchema(typeName: "busy", summary: "Spin without suspending.", parameters: [.init("seconds", .number, required: true)])

    func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        let end = ContinuousClock.now + .milliseconds(Int64(parameters.seconds * 1_000))
        var spins = 0
        while ContinuousClock.now < end { spins &+= 1 }
        return .completed(["attempt": .number(Double(context.attempt))])
    }
}

/// `hang`: runs until cancelled.
struct HangStep: WorkflowStep {
    struct Parameters: Decodable, Sendable {}
    static let schema = StepSchema(typeName: "hang", summary: "Never finish.")

    func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        while true { try await Task.sleep(for: .milliseconds(20)) }
    }
}

enum EngineFixtures {
    /// Loads `url`'s rows for `model` and monitors its first 24 hours (from
    /// ``SyntheticLog/start``) in one pass: the ingest's report and the hourly windows, oldest first.
    static func monitoredDay(_ url: URL, model: String, data: MonitoredData, in database: Database) async throws -> (IngestReport, [WindowReport]) {
        let report = try await InferenceIngest(database: database).load(
            try DataRecordReader(path: url.path), options: .init(model: model, features: data.features, actor: "test")
        )
        var options = WindowMonitor.Options()
        options.maximumWindows = 100
        options.lookback = 4 * 86_400
        let monitor = try WindowMonitor(database: database, workflow: "test", model: model, data: data, options: options, logger: logger)
        _ = try await monitor.run(now: SyntheticLog.start.addingTimeInterval(25 * 3_600), runID: nil)
        return (report, Array(try await MetricsStore(database: database).recentWindows(model: model, count: 24).reversed()))
    }

    static let logger: Logger = {
        var logger = Logger(label: "vigil.engine.tests")
        // VIGIL_TEST_LOG_LEVEL=notice shows what workers saw (lost leases, slow database calls).
        logger.logLevel = ProcessInfo.processInfo.environment["VIGIL_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .error
        return logger
    }()

    static var registry: StepRegistry {
        var registry = StepRegistry.standard
        registry.register(RecordStep())
        registry.register(FlakyStep())
        registry.register(HangStep())
        registry.register(BusyStep())
        registry.register(PromoteStub())
        return registry
    }

    /// Validates `yaml` with the test registry and stores it.
    static func apply(_ yaml: String, to database: Database) async throws -> WorkflowVersion {
        let spec = try WorkflowLoader.parse(Array(yaml.utf8), file: "test.yaml", catalog: registry.catalog)
        let store = WorkflowStore(database: database)
        _ = try await store.apply([WorkflowFile(path: "test.yaml", source: yaml, spec: spec)], actor: "test")
        return try await store.version(of: spec.name)
    }

    static func createSideEffects(_ database: Database) async throws {
        try await database.client.query("""
            CREATE TABLE side_effects (
                idempotency_key text PRIMARY KEY, run_id bigint NOT NULL, step text NOT NULL, attempt int NOT NULL, executions int NOT NULL DEFAULT 1
            )
            """)
    }

    static func workerConfiguration(concurrency: Int = 4, lease: TimeInterval = 5) -> Worker.Configuration {
        var configuration = Worker.Configuration()
        configuration.concurrency = concurrency
        configuration.lease = lease
        configuration.heartbeatInterval = lease / 3
        configuration.pollInterval = 0.2
        configuration.maintenanceInterval = 0.1
        configuration.drainTimeout = 5
        configuration.callTimeout = 5
        return configuration
    }

    /// Runs `workers` workers while `body` runs, then stops them gracefully.
    static func withWorkers<Result: Sendable>(
        _ database: Database, count: Int = 1, clock: any EngineClock = SystemClock(), configuration: Worker.Configuration = workerConfiguration(),
        registry: StepRegistry = registry, _ body: @Sendable () async throws -> Result
    ) async throws -> Result {
        let workers = (0..<count).map { index in
            var configuration = configuration
            configuration.identifier = "test-worker-\(index)-\(UUID().uuidString.prefix(6))"
            return Worker(database: database, registry: registry, clock: clock, configuration: configuration, logger: logger)
        }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in workers { group.addTask { try await worker.run() } }
            defer {
                for worker in workers { worker.stop() }
            }
            let result = try await body()
            for worker in workers { worker.stop() }
            try await group.waitForAll()
            return result
        }
    }

    /// Polls until the run is finished or `timeout` passes (generous: a loaded machine running the
    /// suite in parallel is slow, and a run that never finishes fails the test either way).
    static func waitForRun(_ id: Int, in database: Database, timeout: Duration = .seconds(120)) async throws -> RunSummary {
        let store = RunStore(database: database)
        let deadline = ContinuousClock.now + timeout
        while true {
            // The database may be briefly unreachable (a restart test): keep polling until the deadline.
            if let run = try? await store.run(id), run.state.isTerminal { return run }
            if ContinuousClock.now > deadline { return try await store.run(id) }
            try await Task.sleep(for: .milliseconds(25))
        }
    }
}
