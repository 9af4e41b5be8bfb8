import Dispatch
import Foundation

/// Splits pure, CPU-bound loops over the machine's cores. Each worker writes only its own slots
/// of the output, so results do not depend on how the work was split.
public enum Parallel {
    /// How many workers a loop uses: the active processors, at most 8.
    public static let workers = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))

    /// `body(index)` for every index in `0..<count`, in contiguous chunks across the workers
    /// (one chunk per worker by default; `chunks: count` hands out one index at a time, for a few
    /// uneven pieces of work such as the columns of a table); returns the results in index order.
    public static func map<Result>(_ count: Int, chunks: Int? = nil, _ body: (Int) -> Result) -> [Result] {
        guard count > 1, workers > 1 else { return (0..<count).map(body) }
        return [Result](unsafeUninitializedCapacity: count) { buffer, initialized in
            // Each worker initialises only its own chunk of the buffer, and concurrentPerform
            // returns after every worker has finished: nothing is shared while it runs, and the
            // buffer outlives the call.
            nonisolated(unsafe) let base = buffer.baseAddress!
            nonisolated(unsafe) let body = body
            let chunks = min(chunks ?? workers, count)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                for index in (chunk * count / chunks)..<((chunk + 1) * count / chunks) {
                    (base + index).initialize(to: body(index))
                }
            }
            initialized = count
        }
    }
}
