import Foundation
import Logging
import ServiceLifecycle
import VigilStore
import VigilWorkflow

/// Starts scheduled runs. Any number of schedulers may run against one database: each cron tick
/// is claimed by a unique row, so it fires exactly once.
///
/// After downtime, a workflow's `catch_up` decides: `skip` runs only the latest missed tick,
/// `all` runs every missed tick, oldest first (at most ``Configuration/maximumCatchUp``).
///
/// Once an hour it also creates the inference log's partitions for the days ahead, and removes
/// logged inferences that have outlived their model's retention (``applyRetention()``).
public final class Scheduler: Service, Sendable {
    public struct Configuration: Sendable {
        /// How often schedules are checked, in wall seconds.
        public var checkInterval: TimeInterval = 1
        public var maximumCatchUp = 1_000
        public var identifier = "scheduler-\(HostName.current)-\(getpid())"
        /// Days of inference-log partitions kept ready ahead of today (checked hourly).
        public var partitionDaysAhead = 7
        /// How long a model's logged inferences are kept when its workflow's `data.retention`
        /// does not say; `nil` keeps them.
        public var defaultRetention: TimeInterval?
        /// Where rows are exported as Parquet before retention removes them; `nil` removes them without a copy.
        public var retentionArchive: InferenceArchive?

        public init() {}
    }

    public let configuration: Configuration
    let launcher: RunLauncher
    let store: RunStore
    let logger: Logger

    public init(database: Database, clock: any EngineClock = SystemClock(), configuration: Configuration = Configuration(), logger: Logger) {
        self.configuration = configuration
        launcher = RunLauncher(database: database, clock: clock)
        store = RunStore(database: database)
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var partitionsCheckedAt = ContinuousClock.now - .seconds(7_200)
            while !Task.isCancelled {
                do {
                    try await self.tick()
                    if ContinuousClock.now - partitionsCheckedAt > .seconds(3_600) {
                        try await self.createPartitionsAhead()
                        try await self.applyRetention()
                        partitionsCheckedAt = .now
                    }
                } catch {
                    self.logger.warning("schedule check failed; retrying", metadata: ["error": "\(StoreError.explain(error))"])
                }
                try? await Task.sleep(for: .milliseconds(Int64(self.configuration.checkInterval * 1_000)))
            }
        }
    }

    /// Creates the inference log's daily partitions for today and the next `partitionDaysAhead`
    /// days, so rows written straight into `inference_log` (not through `vigil ingest`) have one.
    public func createPartitionsAhead() async throws {
        let now = launcher.clock.now()
        try await InferenceIngest(database: store.database).createPartitions(
            from: now, to: now.addingTimeInterval(Double(configuration.partitionDaysAhead) * 86_400)
        )
    }

    /// Removes the logged inferences that have outlived their model's retention (each monitoring
    /// workflow's `data.retention`, else ``Configuration/defaultRetention``): whole partitions
    /// when every model in them has, rows otherwise. Metrics and the audit log are kept.
    @discardableResult
    public func applyRetention() async throws -> InferenceRetention.Report {
        let retention = try await launcher.workflows.retentionByModel()
        let report = try await InferenceRetention(database: store.database).apply(
            retention: retention, defaultRetention: configuration.defaultRetention, archive: configuration.retentionArchive,
            actor: configuration.identifier, now: launcher.clock.now()
        )
        if !report.droppedPartitions.isEmpty || !report.deletedRows.isEmpty {
            logger.info("applied retention", metadata: [
                "dropped": "\(report.droppedPartitions)", "deleted": "\(report.deletedRows)", "archived": "\(report.archivedFiles.map(\.path))",
            ])
        }
        return report
    }

    /// Starts the runs of every tick that is due; returns the runs started by this scheduler.
    @discardableResult
    public func tick() async throws -> [Int] {
        let now = launcher.clock.now()
        var started: [Int] = []
        for summary in try await launcher.workflows.list() where summary.state == .enabled {
            let version = try await launcher.workflows.version(of: summary.name)
            guard let schedule = version.spec.schedule, let timeZone = TimeZone(identifier: schedule.timezone),
                  let last = try await store.lastScheduledTick(of: summary.name) else { continue }
            var due: [Date] = []
            var cursor = last
            while let next = schedule.cron.next(after: cursor, in: timeZone), next <= now, due.count < configuration.maximumCatchUp {
                due.append(next)
                cursor = next
            }
            let ticks = schedule.catchUp == .all ? due : due.suffix(1)
            for tick in ticks {
                let trigger = RunTrigger(kind: .event, name: "schedule", labels: ["cron": schedule.cron.source], actor: configuration.identifier)
                let resolved = try RunLauncher.resolve([:], for: version.spec)
                let creation = try await store.startScheduledRun(
                    version, params: resolved, trigger: trigger,
                    concurrency: try RunLauncher.concurrency(of: version.spec, params: resolved, trigger: trigger),
                    tick: tick, scheduler: configuration.identifier, now: now
                )
                if case let .created(id)? = creation {
                    logger.info("started a scheduled run", metadata: ["workflow": "\(summary.name)", "tick": "\(tick)", "run": "\(id)"])
                    started.append(id)
                }
            }
        }
        return started
    }
}
