import Foundation
import Logging
import Synchronization
import VigilStore

/// Gathers step completions and records them in batches, one transaction per batch, retrying
/// through database outages so a finished step's result is not lost while its lease holds.
final class CompletionBatcher: Sendable {
    private struct Pending {
        let completion: StepCompletion
        let recorded: CheckedContinuation<Void, Never>
    }

    private struct State {
        var queue: [Pending] = []
        var stopped = false
    }

    let store: RunStore
    let worker: String
    let clock: any EngineClock
    let callTimeout: TimeInterval
    let logger: Logger
    private let state = Mutex(State())
    private let wake = WakeSignal()
    static let maximumBatch = 64

    init(store: RunStore, worker: String, clock: any EngineClock, callTimeout: TimeInterval, logger: Logger) {
        self.store = store
        self.worker = worker
        self.clock = clock
        self.callTimeout = callTimeout
        self.logger = logger
    }

    /// Queues `completion` and returns once it is recorded (or discarded because the lease was
    /// lost), so the step's lease keeps being renewed until then.
    func submit(_ completion: StepCompletion) async {
        await withCheckedContinuation { continuation in
            state.withLock { $0.queue.append(Pending(completion: completion, recorded: continuation)) }
            wake.fire()
        }
    }

    func run() async {
        while !Task.isCancelled {
            await wake.wait { try await Task.sleep(for: .milliseconds(200)) }
            await flush()
            if state.withLock({ $0.stopped && $0.queue.isEmpty }) { return }
        }
    }

    func stop() async {
        state.withLock { $0.stopped = true }
        wake.fire()
        await flush()
    }

    /// Records everything queued, batch by batch.
    func flush() async {
        var failures = 0
        while true {
            let batch = state.withLock { state -> [Pending] in
                let batch = Array(state.queue.prefix(Self.maximumBatch))
                state.queue.removeFirst(batch.count)
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let completions = batch.map(\.completion)
                let accepted = try await DatabaseCall.bounded(callTimeout) {
                    try await self.store.finish(completions, worker: self.worker, now: self.clock.now())
                }
                for pending in batch {
                    let completion = pending.completion
                    if !accepted.contains(completion.key) {
                        logger.notice("discarded the result of a step whose lease was lost", metadata: ["run": "\(completion.runID)", "step": "\(completion.name)"])
                    }
                    pending.recorded.resume()
                }
                failures = 0
            } catch {
                failures += 1
                let delay = min(5.0, 0.2 * pow(2, Double(min(failures, 5))))
                logger.warning("cannot record step results; retrying", metadata: ["error": "\(StoreError.explain(error))"])
                if Task.isCancelled && failures > 20 {
                    // Giving up: the leases expire and the steps run again elsewhere.
                    for pending in batch { pending.recorded.resume() }
                    return
                }
                state.withLock { $0.queue.insert(contentsOf: batch, at: 0) }
                try? await Task.sleep(for: .milliseconds(Int64(delay * 1_000)))
            }
        }
    }
}
