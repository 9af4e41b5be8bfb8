/// An online detector of change in a stream of errors or scores, fed one value at a time.
///
/// Detectors follow river's definitions and defaults (`river.drift`), so a stream gives the same
/// detection indices here as there. After a detection the detector starts afresh on the next value.
public protocol ConceptDriftDetector: Sendable {
    /// Adds one value and returns whether a change was detected at it.
    mutating func update(_ value: Double) -> Bool
}

extension ConceptDriftDetector {
    /// The 0-based indices of `stream` at which a change was detected.
    public mutating func detections<Stream: Sequence>(in stream: Stream) -> [Int] where Stream.Element == Double {
        var found: [Int] = []
        for (index, value) in stream.enumerated() where update(value) {
            found.append(index)
        }
        return found
    }
}

/// A running mean updated one value at a time, as `river.stats.Mean`.
struct IncrementalMean: Sendable {
    private(set) var count = 0.0
    private(set) var value = 0.0

    mutating func add(_ x: Double) {
        count += 1
        value += (1 / count) * (x - value)
    }
}
