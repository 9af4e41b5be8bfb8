/// The outcome of one drift comparison, with everything needed to reproduce it.
public struct DriftResult: Sendable, Equatable, Codable {
    public let method: DriftMethod
    /// The method's score: the test statistic or the distance.
    public let score: Double
    /// The p-value, for hypothesis tests.
    public let pValue: Double?
    /// Drift when `pValue < threshold` (tests) or `score > threshold` (distances).
    public let threshold: Double
    public let drifted: Bool
    public let referenceCount: Int
    public let currentCount: Int
    public let referenceMissing: Int
    public let currentMissing: Int
    /// Method parameters: `bins`, `epsilon`, `mode` (KS: 0 exact, 1 asymptotic), `scale`, `yates`….
    public let parameters: [String: Double]
    /// Interior bin edges for binned numeric methods; bins are [eᵢ, eᵢ₊₁) with open outer ends.
    public let binEdges: [Double]?
    /// Categories present in the current sample but never in the reference.
    public let unseenCategories: [String]

    public init(
        method: DriftMethod, score: Double, pValue: Double?, threshold: Double,
        referenceCount: Int, currentCount: Int, referenceMissing: Int = 0, currentMissing: Int = 0,
        parameters: [String: Double] = [:], binEdges: [Double]? = nil, unseenCategories: [String] = []
    ) {
        self.method = method
        self.score = score
        self.pValue = pValue
        self.threshold = threshold
        self.drifted = if let pValue, method.isHypothesisTest { pValue < threshold } else { score > threshold }
        self.referenceCount = referenceCount
        self.currentCount = currentCount
        self.referenceMissing = referenceMissing
        self.currentMissing = currentMissing
        self.parameters = parameters
        self.binEdges = binEdges
        self.unseenCategories = unseenCategories
    }
}
