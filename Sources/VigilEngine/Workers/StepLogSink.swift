import Foundation
import VigilStore

/// Collects a step's log lines and writes them to `step_logs`.
///
/// Lines the database refuses (a restart, a failover, a dropped connection) are kept, in order,
/// and written before the next lines or when the step ends, so a step's log survives a short
/// outage instead of losing what was said during it. Lines are stamped when the step logs them,
/// not when they are written.
actor StepLogSink {
    /// Lines held while the database refuses them; beyond this, the oldest are let go (and said so).
    static let heldLineLimit = 10_000

    private struct Batch {
        let stream: String
        var lines: [String]
        let at: Date
    }

    let store: RunStore
    let runID: Int
    let step: String
    let attempt: Int
    let clock: any EngineClock
    private var unwritten: [Batch] = []
    private var isWriting = false

    init(store: RunStore, runID: Int, step: String, attempt: Int, clock: any EngineClock) {
        self.store = store
        self.runID = runID
        self.step = step
        self.attempt = attempt
        self.clock = clock
    }

    /// How many lines wait to be written.
    var heldLines: Int { unwritten.reduce(0) { $0 + $1.lines.count } }

    func append(_ lines: [String], stream: String) async {
        guard !lines.isEmpty else { return }
        unwritten.append(Batch(stream: stream, lines: lines, at: clock.now()))
        dropOldest()
        await flush()
    }

    /// Writes the held lines in the order they were logged; stops at the first refusal, keeping
    /// the rest for the next call.
    func flush() async {
        // A write in progress takes the lines appended meanwhile too; a second writer would repeat its batch.
        guard !isWriting else { return }
        isWriting = true
        defer { isWriting = false }
        while let batch = unwritten.first {
            do {
                try await store.appendLog(runID: runID, step: step, attempt: attempt, stream: batch.stream, lines: batch.lines, now: batch.at)
                unwritten.removeFirst()
            } catch {
                store.database.logger.warning("could not store step log lines; keeping them to write later", metadata: [
                    "run": "\(runID)", "step": "\(step)", "held_lines": "\(heldLines)", "error": "\(StoreError.explain(error))",
                ])
                return
            }
        }
    }

    private func dropOldest() {
        var excess = heldLines - Self.heldLineLimit
        guard excess > 0 else { return }
        store.database.logger.warning("dropping the oldest step log lines the database has not taken", metadata: [
            "run": "\(runID)", "step": "\(step)", "dropped_lines": "\(excess)",
        ])
        // The batch being written, if any, stays whole: its write may yet succeed.
        let oldest = isWriting ? 1 : 0
        while excess > 0, unwritten.count > oldest {
            let taken = min(excess, unwritten[oldest].lines.count)
            unwritten[oldest].lines.removeFirst(taken)
            if unwritten[oldest].lines.isEmpty { unwritten.remove(at: oldest) }
            excess -= taken
        }
    }
}
