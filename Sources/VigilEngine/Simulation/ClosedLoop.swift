import Foundation
import Logging
import VigilStore
import VigilWorkflow

/// A simulated deployment of the churn model, run on the real engine hour by hour: traffic from
/// ``TrafficSimulator`` is served as the routing says, then the clock moves to the end of the hour,
/// the scheduler starts what is due, and the workers run until nothing more can happen before the
/// next hour. Time moves only then, so the same configuration always writes the same history.
///
/// Timeline (hours from `start`): `historyHours` of traffic served by a bootstrap champion before
/// `start`, the workflows applied at `start`, the scenario's onset at `onsetHours`, the end at `hours`.
public struct ClosedLoop: Sendable {
    public struct Configuration: Sendable {
        public var scenario = ChurnTraffic.Scenario.concept
        public var seed: UInt64 = 7
        /// When the engine starts (a Monday at midnight UTC by default, so runs repeat exactly).
        public var start = Date(timeIntervalSince1970: 1_780_272_000)
        public var historyHours = 30
        public var onsetHours = 6
        public var hours = 34
        public var requestsPerHour = 2_000
        public var labelDelay: TimeInterval = 1_800
        /// Simulated hours served before the engine catches up: 1 by default; a scenario spanning
        /// weeks steps half a day at a time (its workflows run daily).
        public var stepHours = 1
        public var model = "churn"
        /// Where built-in models are written (see ``RetrainStep/artifactDirectory(_:)``).
        public var artifacts: URL?
        /// How long, in wall time, the engine may go without recording any change (no step or run
        /// changing state) while work is still in progress before the simulation gives up. It
        /// bounds a stall, not an hour: on a loaded machine an hour's steps may take minutes.
        public var settleTimeout: Duration = .seconds(120)

        public init() {}

        public var onset: Date { start.addingTimeInterval(Double(onsetHours) * 3_600) }
        public var end: Date { start.addingTimeInterval(Double(hours) * 3_600) }

        /// The `covariate-delayed` scenario's timeline: labels two weeks late, 16 days of history
        /// (so the first two days' labels are in by the start), the shift two days in, and 22 days
        /// run half a day at a time: long enough for the drifted period's labels to arrive and a
        /// retrained model to be proven and promoted.
        public static func delayedLabels() -> Configuration {
            var configuration = Configuration()
            configuration.scenario = .covariateDelayed
            configuration.labelDelay = 14 * 86_400
            configuration.historyHours = 16 * 24
            configuration.onsetHours = 48
            configuration.hours = 22 * 24
            configuration.stepHours = 12
            configuration.requestsPerHour = 300
            return configuration
        }
    }

    /// What one simulated hour did, for a live view.
    public struct Hour: Sendable {
        /// Hours since `start`, from 1.
        public let index: Int
        /// The end of the hour: the clock while it settled.
        public let end: Date
        public let served: TrafficSimulator.Served
        /// What the timeline gained in this hour.
        public let events: [TimelineEvent]
        /// The newest computed window with labels, if any.
        public let window: WindowReport?
        public let openAlerts: [Alert]
        /// Unfinished steps of unfinished runs: `workflow #run step state[: last error]`.
        public let activeSteps: [String]
        public let routing: ModelRouting
    }

    public let configuration: Configuration
    public let clock: ManualClock
    let database: Database
    let registry: StepRegistry
    let channels: ChannelDirectory
    let logger: Logger

    /// - Parameters:
    ///   - registry: the step types; its `escalate` is replaced by one that notifies `channels`.
    ///   - channels: where alerts go (the demo's local receiver).
    public init(database: Database, configuration: Configuration, registry: StepRegistry, channels: ChannelDirectory, logger: Logger) {
        self.database = database
        self.configuration = configuration
        var registry = registry
        registry.register(EscalateStep(channels: channels))
        self.registry = registry
        self.channels = channels
        self.logger = logger
        clock = ManualClock(configuration.start.addingTimeInterval(-Double(configuration.historyHours) * 3_600))
    }

    var traffic: ChurnTraffic { ChurnTraffic(scenario: configuration.scenario, onset: configuration.onset, seed: configuration.seed) }

    var simulator: TrafficSimulator {
        // Requests from the history's start on: their labels keep arriving after it.
        var settings = TrafficSimulator.Configuration(start: configuration.start.addingTimeInterval(-Double(configuration.historyHours) * 3_600))
        settings.model = configuration.model
        settings.requestsPerHour = configuration.requestsPerHour
        settings.labelDelay = configuration.labelDelay
        return TrafficSimulator(traffic: traffic, configuration: settings, database: database)
    }

    /// Records the scenario's drift episode, trains and registers a champion on twelve hours of
    /// traffic before the history, serves the history, and applies `workflows` at `start`.
    public func prepare(workflows: [WorkflowFile]) async throws {
        let historyStart = configuration.start.addingTimeInterval(-Double(configuration.historyHours) * 3_600)
        let simulator = simulator
        if let episode = traffic.episode(model: configuration.model) {
            try await DriftEpisodes(database: database).record(episode, actor: "simulator", now: historyStart)
        }
        try await simulator.bootstrapChampion(
            trainingFrom: historyStart.addingTimeInterval(-12 * 3_600), to: historyStart, artifacts: configuration.artifacts, actor: "simulator", now: historyStart
        )
        var hour = historyStart
        while hour < configuration.start {
            let next = min(configuration.start, hour.addingTimeInterval(Double(max(1, configuration.stepHours)) * 3_600))
            try await simulator.serve(from: hour, to: next)
            hour = next
        }
        clock.advance(to: configuration.start)
        _ = try await WorkflowStore(database: database).apply(workflows, actor: "simulator", now: configuration.start)
    }

    /// Runs the engine for `hours` simulated hours after ``prepare(workflows:)``, calling `observe`
    /// after each.
    public func run(workers count: Int = 2, observe: @Sendable (Hour) async throws -> Void = { _ in }) async throws {
        let simulator = simulator
        let scheduler = Scheduler(database: database, clock: clock, logger: logger)
        let keeper = AlertKeeper(database: database, channels: channels, clock: clock, logger: logger)
        var settings = Worker.Configuration()
        // Leases and heartbeats in clock time: a step is never taken away while time stands still.
        settings.lease = 86_400
        settings.pollInterval = 0.05
        settings.maintenanceInterval = 0.02
        let workers = (0..<count).map { index in
            var settings = settings
            settings.identifier = "closed-loop-\(index)-\(getpid())"
            return Worker(database: database, registry: registry, clock: clock, configuration: settings, logger: logger)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in workers { group.addTask { try await worker.run() } }
            defer { for worker in workers { worker.stop() } }
            var hour = configuration.start
            let step = max(1, configuration.stepHours)
            for index in stride(from: step, through: max(step, configuration.hours), by: step) {
                let next = hour.addingTimeInterval(Double(step) * 3_600)
                let served = try await simulator.serve(from: hour, to: next)
                clock.advance(to: next)
                try await scheduler.tick()
                try await settle()
                try await keeper.tick()
                try await settle()
                try await observe(snapshot(index: index, from: hour, to: next, served: served))
                hour = next
            }
            for worker in workers { worker.stop() }
            try await group.waitForAll()
        }
    }

    /// Waits until nothing can make progress before the clock moves again; gives up when nothing
    /// changes for ``Configuration/settleTimeout``.
    func settle() async throws {
        let store = RunStore(database: database)
        var deadline = ContinuousClock.now + configuration.settleTimeout
        var lastEvent = try await store.workInProgress(now: clock.now()).lastEvent
        var quiet = 0
        while quiet < 2 {
            guard ContinuousClock.now < deadline else {
                let active = try await activeSteps(store, of: [.queued, .running, .waiting])
                throw SimulationError("the engine made no progress for \(configuration.settleTimeout) at \(MonitorStep.format(clock.now())); steps in progress: \(active.isEmpty ? "none started" : active.joined(separator: "; "))")
            }
            try await Task.sleep(for: .milliseconds(10))
            let work = try await store.workInProgress(now: clock.now())
            if work.lastEvent != lastEvent { deadline = ContinuousClock.now + configuration.settleTimeout }
            quiet = work.count == 0 ? quiet + 1 : 0
            lastEvent = work.lastEvent
        }
    }

    /// The started, unfinished steps of the runs in `states`, one line each.
    func activeSteps(_ store: RunStore, of states: [RunState]) async throws -> [String] {
        var active: [String] = []
        for state in states {
            for run in try await store.list(state: state, limit: 20) {
                for step in try await store.steps(ofRun: run.id) where !step.state.isTerminal && step.state != .pending {
                    active.append("\(run.workflow) #\(run.id) \(step.name) \(step.state.rawValue)" + (step.error.map { ": \($0)" } ?? ""))
                }
            }
        }
        return active
    }

    func snapshot(index: Int, from: Date, to: Date, served: TrafficSimulator.Served) async throws -> Hour {
        let model = configuration.model
        let events = try await ModelTimeline(database: database).events(model: model, from: from.addingTimeInterval(0.001), to: to)
        let window = try await MetricsStore(database: database).recentWindows(model: model, count: 3).first { ($0.metrics["f1"]?.labelledRows ?? 0) > 0 }
        let alerts = try await AlertStore(database: database).list(states: [.firing, .acknowledged], model: model)
        let active = try await activeSteps(RunStore(database: database), of: [.waiting])
        let routing = try await ModelRegistry(database: database).routing(of: model)
        return Hour(index: index, end: to, served: served, events: events, window: window, openAlerts: alerts, activeSteps: active, routing: routing)
    }
}

/// Why a simulation could not go on.
public struct SimulationError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
