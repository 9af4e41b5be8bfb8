import Foundation
import VigilStatistics

/// A subset of a window's rows: `nil` key and value for the whole window, else a slicing
/// expression and one of its values.
public struct Slice: Sendable, Hashable, Codable {
    public let key: String?
    public let value: String?

    public static let overall = Slice(key: nil, value: nil)

    public init(key: String?, value: String?) {
        self.key = key
        self.value = value
    }
}

/// One row of `drift_metrics`.
public struct DriftMetric: Sendable, Codable, Equatable {
    public var sliceKey: String?
    public var sliceValue: String?
    public var featureName: String
    /// feature, prediction, score or label.
    public var columnRole: String
    public var method: String
    public var driftScore: Double
    public var driftThreshold: Double
    public var pValue: Double?
    public var drifted: Bool
    /// baseline, previous or seasonal.
    public var comparison: String
    /// What the window was compared with, in words (`previous window`, `table training_set`, …).
    public var reference: String
    public var referenceStart: Date?
    public var referenceEnd: Date?
    public var referenceCount: Int
    public var currentCount: Int
    public var countDelta: Int
    public var meanDelta: Double?
    public var nullRateDelta: Double
    public var distinctCountDelta: Int?
    public var parameters: [String: Double]
    public var binEdges: [Double]?

    public init(
        slice: Slice, featureName: String, columnRole: String, method: String, driftScore: Double, driftThreshold: Double,
        pValue: Double?, drifted: Bool, comparison: String, reference: String, referenceStart: Date?, referenceEnd: Date?,
        referenceCount: Int, currentCount: Int, meanDelta: Double?, nullRateDelta: Double, distinctCountDelta: Int?,
        parameters: [String: Double], binEdges: [Double]?
    ) {
        sliceKey = slice.key
        sliceValue = slice.value
        self.featureName = featureName
        self.columnRole = columnRole
        self.method = method
        self.driftScore = driftScore
        self.driftThreshold = driftThreshold
        self.pValue = pValue
        self.drifted = drifted
        self.comparison = comparison
        self.reference = reference
        self.referenceStart = referenceStart
        self.referenceEnd = referenceEnd
        self.referenceCount = referenceCount
        self.currentCount = currentCount
        countDelta = currentCount - referenceCount
        self.meanDelta = meanDelta
        self.nullRateDelta = nullRateDelta
        self.distinctCountDelta = distinctCountDelta
        self.parameters = parameters
        self.binEdges = binEdges
    }
}

/// One row of `integrity_metrics`.
public struct IntegrityMetric: Sendable, Codable, Equatable {
    public var sliceKey: String?
    public var sliceValue: String?
    public var featureName: String
    public var rowCount: Int
    public var missingCount: Int
    public var missingRate: Double
    public var typeMismatches: Int
    public var outOfRange: Int
    public var outOfDomain: Int
    public var unseenCategories: Int
    public var quarantinedRows: Int

    public init(
        slice: Slice, featureName: String, rowCount: Int, missingCount: Int, typeMismatches: Int, outOfRange: Int,
        outOfDomain: Int, unseenCategories: Int, quarantinedRows: Int
    ) {
        sliceKey = slice.key
        sliceValue = slice.value
        self.featureName = featureName
        self.rowCount = rowCount
        self.missingCount = missingCount
        missingRate = rowCount > 0 ? Double(missingCount) / Double(rowCount) : 0
        self.typeMismatches = typeMismatches
        self.outOfRange = outOfRange
        self.outOfDomain = outOfDomain
        self.unseenCategories = unseenCategories
        self.quarantinedRows = quarantinedRows
    }
}

/// One row of `performance_metrics` or `operational_metrics`: a named value for a window and slice.
public struct WindowMetric: Sendable, Codable, Equatable {
    public var sliceKey: String?
    public var sliceValue: String?
    public var metric: String
    public var value: Double
    /// The same metric on the reference (performance only).
    public var baselineValue: Double?
    public var labelledRows: Int
    public var rowCount: Int
    /// A stand-in while labels are missing (mean confidence, prediction drift).
    public var isProxy: Bool
    /// Estimated from calibrated scores, before labels (same metric name as the realised value).
    public var estimated: Bool
    /// An estimate's band: three sampling errors either side.
    public var lower: Double?
    public var upper: Double?
    /// The version that served the rows, when one did.
    public var modelVersion: String?
    /// `champion` or `canary` for a variant's own rows in a window both served; `nil` for the
    /// window's whole traffic.
    public var variant: String?

    public init(
        slice: Slice, metric: String, value: Double, baselineValue: Double? = nil, labelledRows: Int = 0, rowCount: Int, isProxy: Bool = false,
        estimated: Bool = false, lower: Double? = nil, upper: Double? = nil, modelVersion: String? = nil, variant: String? = nil
    ) {
        sliceKey = slice.key
        sliceValue = slice.value
        self.metric = metric
        self.value = value
        self.baselineValue = baselineValue
        self.labelledRows = labelledRows
        self.rowCount = rowCount
        self.isProxy = isProxy
        self.estimated = estimated
        self.lower = lower
        self.upper = upper
        self.modelVersion = modelVersion
        self.variant = variant
    }

    /// The name rules read it by: `estimated_f1` for an estimate of `f1`.
    public var ruleName: String { estimated ? "estimated_" + metric : metric }
}

/// Everything the monitor computed for one window.
public struct WindowMetrics: Sendable {
    public var signature: WindowSignature
    public var workflow: String
    public var sampleRate: Double
    public var drift: [DriftMetric] = []
    public var integrity: [IntegrityMetric] = []
    public var performance: [WindowMetric] = []
    public var operational: [WindowMetric] = []
    public var business: [WindowMetric] = []
    /// The whole window's reliability curve (binary classifiers, labelled rows).
    public var reliability: [ProbabilisticMetrics.ReliabilityBin] = []
    /// Column profiles as JSON, keyed by slice and column, to store in `window_profiles`.
    public var profiles: [StoredProfile] = []
    /// Multivariate drift of the whole window and of each slice, one row per method (`multivariate_drift`).
    public var multivariate: [MultivariateMetric] = []
    /// The features driving the window's drift, strongest first (`drift_drivers`).
    public var drivers: [DriftDriver] = []
    /// The features driving each slice's drift, strongest first (`drift_drivers` with the slice).
    public var sliceDrivers: [Slice: [DriftDriver]] = [:]

    public init(signature: WindowSignature, workflow: String, sampleRate: Double) {
        self.signature = signature
        self.workflow = workflow
        self.sampleRate = sampleRate
    }

    /// The rows of `drift_drivers`: the whole window's drivers and each slice's, ranked from 1.
    var storedDrivers: [StoredDriver] {
        let groups = [(Slice.overall, drivers)] + sliceDrivers.sorted { ($0.key.key ?? "", $0.key.value ?? "") < ($1.key.key ?? "", $1.key.value ?? "") }
        return groups.flatMap { slice, drivers in
            drivers.enumerated().map { StoredDriver(slice: slice, rank: $0.offset + 1, driver: $0.element) }
        }
    }
}

/// One row of `drift_drivers`: a driver of a window's or a slice's drift, with its rank.
struct StoredDriver: Encodable {
    let slice: Slice
    let rank: Int
    let driver: DriftDriver

    enum CodingKeys: String, CodingKey {
        case sliceKey, sliceValue, rank
    }

    func encode(to encoder: any Encoder) throws {
        try driver.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(slice.key, forKey: .sliceKey)
        try container.encode(slice.value, forKey: .sliceValue)
        try container.encode(rank, forKey: .rank)
    }
}

/// One row of `multivariate_drift`: a method's verdict on a whole window or one of its slices.
public struct MultivariateMetric: Sendable, Codable, Equatable {
    public var sliceKey: String?
    public var sliceValue: String?
    public var method: String
    /// The mean reconstruction error, or the domain classifier's held-out ROC AUC.
    public var value: Double
    public var lower: Double?
    public var upper: Double?
    public var pValue: Double?
    /// The level a p-value was judged at (the domain classifier's); `nil` for a threshold.
    public var significance: Double?
    public var drifted: Bool
    public var referenceRows: Int
    public var currentRows: Int
    /// The seed the rows were drawn and the classifier's folds dealt with.
    public var seed: Int64

    public init(
        slice: Slice = .overall, method: String, value: Double, lower: Double?, upper: Double?, pValue: Double?, significance: Double?,
        drifted: Bool, referenceRows: Int, currentRows: Int, seed: Int64
    ) {
        sliceKey = slice.key
        sliceValue = slice.value
        self.method = method
        self.value = value
        self.lower = lower
        self.upper = upper
        self.pValue = pValue
        self.significance = significance
        self.drifted = drifted
        self.referenceRows = referenceRows
        self.currentRows = currentRows
        self.seed = seed
    }
}

/// A column profile as stored in `window_profiles`.
public struct StoredProfile: Sendable, Codable, Equatable {
    public var sliceKey: String?
    public var sliceValue: String?
    public var columnName: String
    public var role: String
    public var kind: String
    /// The profile's JSON.
    public var profile: String

    public init(slice: Slice, columnName: String, role: String, kind: String, profile: String) {
        sliceKey = slice.key
        sliceValue = slice.value
        self.columnName = columnName
        self.role = role
        self.kind = kind
        self.profile = profile
    }

    public var slice: Slice { Slice(key: sliceKey, value: sliceValue) }
}
