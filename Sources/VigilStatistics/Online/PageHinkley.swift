/// The Page–Hinkley test (a CUSUM on deviations from the running mean), as `river.drift.PageHinkley`.
///
/// Detects a change in the mean of a stream: it accumulates deviations from the running mean,
/// less a tolerance `delta`, with a forgetting factor `alpha`, and signals when the accumulated sum
/// moves more than `threshold` away from its extreme. Page (1954); Sebastião & Fernandes (2017).
public struct PageHinkley: ConceptDriftDetector, Codable {
    /// Which direction of change to detect.
    public enum Direction: String, Sendable, Codable {
        case up, down, both
    }

    public struct Parameters: Sendable, Equatable, Codable {
        /// Values seen before any detection is possible.
        public var minimumInstances = 30
        /// The magnitude of change tolerated.
        public var delta = 0.005
        /// The detection threshold (lambda).
        public var threshold = 50.0
        /// The forgetting factor applied to the cumulative sums.
        public var alpha = 1 - 0.0001
        public var direction = Direction.both

        public init() {}
    }

    public let parameters: Parameters
    private var mean = IncrementalMean()
    private var sumIncrease = 0.0
    private var sumDecrease = 0.0
    private var minimumIncrease = Double.infinity
    private var maximumDecrease = -1.0
    private var detected = false

    public init(_ parameters: Parameters = Parameters()) {
        self.parameters = parameters
    }

    public mutating func update(_ value: Double) -> Bool {
        if detected { self = PageHinkley(parameters) }
        mean.add(value)
        let deviation = value - mean.value
        sumIncrease = parameters.alpha * sumIncrease + deviation - parameters.delta
        sumDecrease = parameters.alpha * sumDecrease + deviation + parameters.delta
        minimumIncrease = min(minimumIncrease, sumIncrease)
        maximumDecrease = max(maximumDecrease, sumDecrease)
        guard mean.count >= Double(parameters.minimumInstances) else { return false }
        let increase = sumIncrease - minimumIncrease > parameters.threshold
        let decrease = maximumDecrease - sumDecrease > parameters.threshold
        detected = switch parameters.direction {
        case .up: increase
        case .down: decrease
        case .both: increase || decrease
        }
        return detected
    }
}
