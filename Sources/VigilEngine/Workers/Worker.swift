import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VigilStore

/// Claims ready steps from PostgreSQL and runs them; any number of workers on any number of hosts
/// share one database.
///
/// Claims use `FOR UPDATE SKIP LOCKED` and record a lease that a heartbeat renews while the step
/// runs, however long. A worker that dies stops renewing; once its lease expires, any worker's
/// maintenance pass hands the step back as ready and it runs again as a new attempt. Completions
/// are batched into one transaction that also readies dependents. `NOTIFY vigil_ready` wakes idle
/// workers; polling is the fallback. On graceful shutdown the worker stops claiming, lets running
/// steps finish for up to `drainTimeout`, and hands back the rest.
public final class Worker: Service, Sendable {
    public struct Configuration: Sendable {
        /// Steps run at once by this worker.
        public var concurrency = 4
        /// How long a claim holds without a heartbeat, in clock seconds.
        public var lease: TimeInterval = 15
        /// How often leases are renewed, in clock seconds.
        public var heartbeatInterval: TimeInterval = 5
        /// Longest idle wait before looking for work without a notification, in wall seconds.
        public var pollInterval: TimeInterval = 1
        /// How often expired leases and due timers are looked for, in wall seconds.
        public var maintenanceInterval: TimeInterval = 0.25
        /// How long running steps may finish after shutdown is asked for, in wall seconds.
        public var drainTimeout: TimeInterval = 30
        /// Longest wait for one of the worker's own database calls (claim, maintenance, lease
        /// renewal, recording results) before it is abandoned and tried again, in wall seconds.
        public var callTimeout: TimeInterval = 15
        public var identifier = "worker-\(HostName.current)-\(getpid())-\(UInt16.random(in: 0 ... .max))"

        public init() {}
    }

    private struct State {
        var running: [StepKey: Task<Void, Never>] = [:]
        /// Steps that have finished running and wait for their result to be recorded: still
        /// renewed, but a renewal that misses one may only mean it was just recorded.
        var finishing: Set<StepKey> = []
        var stopping = false
        var lastMaintenance = ContinuousClock.now - .seconds(3_600)
    }

    public let configuration: Configuration
    let store: RunStore
    let executor: StepExecutor
    let clock: any EngineClock
    let logger: Logger
    private let state = Mutex(State())
    private let wake = WakeSignal()
    private let completions: CompletionBatcher

    public init(database: Database, registry: StepRegistry = .standard, clock: any EngineClock = SystemClock(), configuration: Configuration = Configuration(), logger: Logger) {
        self.configuration = configuration
        store = RunStore(database: database)
        self.clock = clock
        var logger = logger
        logger[metadataKey: "worker"] = "\(configuration.identifier)"
        self.logger = logger
        executor = StepExecutor(store: store, registry: registry, clock: clock, logger: logger)
        completions = CompletionBatcher(store: store, worker: configuration.identifier, clock: clock, callTimeout: configuration.callTimeout, logger: logger)
    }

    public func run() async throws {
        ScratchFolder.sweep(logger: logger)
        // The LISTEN loop is not awaited on the way out: a notification sequence need not end when
        // its task is cancelled, and shutdown must not wait on it. Cancelling it closes it eventually.
        let listener = Task { await self.listen() }
        defer { listener.cancel() }
        let work = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask(executorPreference: ThreadExecutor.leases) { await self.heartbeats() }
                group.addTask { await self.completions.run() }
                await self.claimLoop()
                await self.drain()
                await self.completions.stop()
                group.cancelAll()
            }
        }
        await withGracefulShutdownHandler {
            // Shutdown is bounded: a database call that never returns (seen once after a server
            // restart, with nothing left to wake it) must not keep the process from exiting.
            // Whatever is unrecorded then is handed back when its lease expires.
            let grace = configuration.drainTimeout + 15
            // Cancelling `run()` is a request to stop, as a graceful shutdown is.
            let finished = await withTaskCancellationHandler {
                await work.finishes(before: {
                    while !self.isStopping && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(100)) }
                    try? await Task.sleep(for: .milliseconds(Int64(grace * 1_000)))
                })
            } onCancel: {
                self.stop()
            }
            if !finished {
                logger.warning("worker did not stop within its drain time; exiting and leaving unrecorded steps to their leases")
                work.cancel()
            }
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Stops claiming; `run()` then drains and returns.
    public func stop() {
        state.withLock { $0.stopping = true }
        wake.fire()
    }

    private var isStopping: Bool { state.withLock { $0.stopping } }

    private func claimLoop() async {
        var failures = 0
        while !isStopping {
            do {
                // The claim comes first, so a ready step never waits behind maintenance. The two
                // each get the whole call budget: on a loaded database a slow maintenance pass must
                // not use up the claim's time and void it.
                let free = configuration.concurrency - state.withLock { $0.running.count }
                let claimed = free > 0 ? try await DatabaseCall.bounded(configuration.callTimeout) {
                    try await self.store.claim(worker: self.configuration.identifier, limit: free, lease: self.configuration.lease, now: self.clock.now())
                } : []
                for step in claimed { start(step) }
                try await DatabaseCall.bounded(configuration.callTimeout) { try await self.maintainIfDue() }
                failures = 0
                // Every ready step that fitted was claimed; what becomes ready later, or a step
                // finishing and freeing room, fires the signal (a fire while claiming is kept).
                let poll = configuration.pollInterval
                await wake.wait { try await Task.sleep(for: .milliseconds(Int64(poll * 1_000))) }
            } catch {
                failures += 1
                let delay = min(5.0, 0.2 * pow(2, Double(min(failures, 5))))
                logger.warning("cannot reach the database; retrying", metadata: ["error": "\(StoreError.explain(error))", "in_seconds": "\(delay)"])
                try? await Task.sleep(for: .milliseconds(Int64(delay * 1_000)))
            }
        }
    }

    /// Hands back expired leases and wakes due timers, at most every `maintenanceInterval`.
    private func maintainIfDue() async throws {
        let due = state.withLock { state -> Bool in
            guard ContinuousClock.now - state.lastMaintenance >= .milliseconds(Int64(configuration.maintenanceInterval * 1_000)) else { return false }
            state.lastMaintenance = .now
            return true
        }
        guard due else { return }
        let now = clock.now()
        try await store.releaseLeases(owner: nil, actor: configuration.identifier, now: now)
        try await store.wakeDueSteps(actor: configuration.identifier, now: now)
        // A timed-out approval is Vigil's decision, not this worker's.
        try await store.expireApprovals(actor: "vigil", now: now)
    }

    private func start(_ step: ClaimedStep) {
        let key = step.key
        // Created under the lock, so the task cannot remove its entry before it is added.
        state.withLock { state in
            state.running[key] = Task {
                let completion = await self.executor.execute(step)
                self.state.withLock { _ = $0.finishing.insert(key) }
                // A step cancelled by a drain is handed back whole, not recorded as a failed attempt.
                if !(Task.isCancelled && self.isStopping) {
                    await self.completions.submit(completion)
                }
                self.state.withLock { state in
                    state.running.removeValue(forKey: key)
                    state.finishing.remove(key)
                }
                self.wake.fire()
            }
        }
    }

    /// Renews the leases of running steps; a step whose lease was lost (cancelled run, expiry
    /// during an outage) is cancelled here, since its result would be discarded anyway. Runs on
    /// ``ThreadExecutor/leases``, so busy steps on the cooperative pool cannot starve it.
    private func heartbeats() async {
        while !Task.isCancelled {
            try? await clock.sleep(for: configuration.heartbeatInterval, on: ThreadExecutor.leases)
            let running = state.withLock { Array($0.running.keys) }
            guard !running.isEmpty else { continue }
            do {
                let held = try await DatabaseCall.bounded(configuration.callTimeout, on: ThreadExecutor.leases) {
                    try await self.store.renewLeases(worker: self.configuration.identifier, steps: running, lease: self.configuration.lease, now: self.clock.now())
                }
                for key in running where !held.contains(key) {
                    guard let task = state.withLock({ $0.finishing.contains(key) ? nil : $0.running[key] }) else { continue }
                    logger.notice("lost the lease of a running step; cancelling it", metadata: ["step": "\(key)"])
                    task.cancel()
                }
            } catch {
                logger.warning("cannot renew leases", metadata: ["error": "\(StoreError.explain(error))"])
            }
        }
    }

    /// Listens for `NOTIFY vigil_ready`, reconnecting after failures.
    private func listen() async {
        while !Task.isCancelled {
            do {
                try await store.listenForReadySteps { self.wake.fire() }
            } catch {
                if Task.isCancelled { return }
                logger.debug("listen connection lost; reconnecting", metadata: ["error": "\(StoreError.explain(error))"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Waits for running steps up to `drainTimeout`, then cancels the rest and hands them back.
    private func drain() async {
        let deadline = ContinuousClock.now + .milliseconds(Int64(configuration.drainTimeout * 1_000))
        while state.withLock({ !$0.running.isEmpty }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let leftovers = state.withLock { Array($0.running.values) }
        for task in leftovers { task.cancel() }
        for task in leftovers { await task.value }
        await completions.flush()
        do {
            let handedBack = try await store.releaseLeases(owner: configuration.identifier, actor: configuration.identifier, now: clock.now())
            if handedBack > 0 { logger.info("handed back unfinished steps", metadata: ["count": "\(handedBack)"]) }
        } catch {
            logger.warning("cannot hand back steps; their leases will expire", metadata: ["error": "\(StoreError.explain(error))"])
        }
    }
}
