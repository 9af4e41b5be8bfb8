/// The Drift Detection Method of Gama et al. (2004) over a stream of 0/1 errors, as `river.drift.binary.DDM`.
///
/// Tracks the error rate p and its standard deviation s = √(p(1−p)/n); once past the warm start,
/// it remembers the minimum of p + s and signals a warning when p + s exceeds p_min + 2·s_min and a
/// drift when it exceeds p_min + 3·s_min.
public struct DriftDetectionMethod: ConceptDriftDetector, Codable {
    public struct Parameters: Sendable, Equatable, Codable {
        /// Values seen before any warning or detection.
        public var warmStart = 30
        public var warningThreshold = 2.0
        public var driftThreshold = 3.0

        public init() {}
    }

    public let parameters: Parameters
    /// Whether the last value put the detector in its warning zone.
    public private(set) var isWarning = false
    private var errorRate = IncrementalMean()
    private var minimumRate = 0.0
    private var minimumDeviation = 0.0
    private var minimumSum = Double.infinity
    private var detected = false

    public init(_ parameters: Parameters = Parameters()) {
        self.parameters = parameters
    }

    public mutating func update(_ value: Double) -> Bool {
        if detected { self = DriftDetectionMethod(parameters) }
        errorRate.add(value)
        let p = errorRate.value, n = errorRate.count
        let s = (p * (1 - p) / n).squareRoot()
        guard n > Double(parameters.warmStart) else { return false }
        if p + s <= minimumSum {
            minimumRate = p
            minimumDeviation = s
            minimumSum = p + s
        }
        isWarning = p + s > minimumRate + parameters.warningThreshold * minimumDeviation
        if p + s > minimumRate + parameters.driftThreshold * minimumDeviation {
            detected = true
            isWarning = false
        }
        return detected
    }
}
