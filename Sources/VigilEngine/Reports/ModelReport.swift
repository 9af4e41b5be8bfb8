import Foundation
import VigilStatistics
import VigilStore

/// How well Vigil kept a model healthy over a period, measured from the records: when drift began
/// and when it was noticed, whether a new model was promoted automatically and restored quality,
/// how long that took, how trustworthy the alerts were, and how the serving held up.
///
/// An *incident* is a known drift episode (`drift_episodes`: a simulator's scenario, a change an
/// operator recorded) or, for a model with none recorded, a hard drift alert not marked a false
/// positive. Canary-rollback alerts are about a promotion, not drift: they are counted apart.
public struct ModelReport: Sendable, Codable {
    /// What decides the figures.
    public struct Options: Sendable {
        /// The quality metric: `f1`, `accuracy`, `precision`, `recall` (pooled over labelled
        /// requests), or any window metric such as `rmse` (averaged over windows).
        public var metric = "f1"
        /// A window whose metric is this much worse than on its reference shows quality loss.
        public var qualityLoss = 0.05
        /// Quality counts as restored within this much of its level before the drift.
        public var recoveryTolerance = 0.02
        /// How much traffic before the drift, and after a promotion, quality is pooled over.
        public var qualityPeriod: TimeInterval = 24 * 3_600
        /// An episode is detected when an alert comes within this long of its onset.
        public var detectionHorizon: TimeInterval = 24 * 3_600
        /// Service-level objectives a window must meet.
        public var maximumErrorRate = 0.01
        public var maximumLatencyP95 = 250.0

        public init() {}
    }

    /// One drift incident, from onset to recovery.
    public struct Incident: Sendable, Codable, Equatable {
        /// Known onset and kind (`nil` when inferred from a hard alert).
        public var onset: Date?
        public var kind: String?
        public var firstAlert: Date?
        public var firstAlertID: Int?
        public var hardAlert: Date?
        /// Start of the first window whose quality fell by `qualityLoss` against its reference.
        public var qualityLoss: Date?
        /// The first promotion after the hard alert, the version, and whether a workflow made it.
        public var promotion: Date?
        public var promotedVersion: Int?
        public var automated = false
        public var rollbacks = 0
        public var qualityBefore: Double?
        public var qualityAfter: Double?
        public var recovered = false
        /// When the first label of a prediction made since the onset (or the first alert) became
        /// known: until then only an estimate could tell.
        public var firstLabel: Date?
    }

    /// The headline figures.
    public struct Figures: Sendable, Codable, Equatable {
        public var incidents = 0
        /// Mean seconds from known drift onset to the first alert.
        public var onsetToFirstAlert: TimeInterval?
        /// Mean seconds from the first alert to measurable quality loss (negative: the loss came first).
        public var firstAlertToQualityLoss: TimeInterval?
        /// Mean seconds from the first alert to the first label of the drifted period: the lead
        /// time gained over waiting for labels (negative: a label came first).
        public var leadTime: TimeInterval?
        /// Share of incidents a workflow's promotion mitigated (quality restored, no person involved).
        public var automatedMitigation: Double?
        /// Mean seconds from the hard alert to the promotion that restored quality.
        public var meanTimeToRecover: TimeInterval?
        public var alerts = 0
        public var hardAlerts = 0
        public var falsePositives = 0
        public var canaryRollbacks = 0
        public var alertPrecision: Double?
        public var alertRecall: Double?
        /// `known drift episodes` or `false-positive marks`.
        public var alertTruth = ""
        /// Known drift onsets in the period (recorded by people with `vigil incidents record`, or
        /// by the simulator); lead time, onset → first alert and recall rest on them, and are not
        /// measured without any.
        public var onsets = 0
        /// Of ``onsets``, those people recorded.
        public var onsetsRecordedByPeople = 0
        /// Windows first computed well after they ended: history back-filled, not detected live.
        public var backfilledWindows = 0
        public var requests = 0
        public var errors = 0
        /// Share of requests served without error.
        public var uptime: Double?
        /// Share of windows meeting the error-rate and latency objectives.
        public var slaAdherence: Double?
        public var windows = 0
    }

    /// One monitoring window, for charts.
    public struct Window: Sendable, Codable, Equatable {
        public var start: Date
        public var end: Date
        public var requests: Int
        public var quality: Double?
        /// The metric estimated from scores before labels (`estimated_<metric>`), when it is.
        public var estimated: Double?
        public var labelled: Int
        public var drift: [String: Double]
        public var errorRate: Double?
        public var latencyP95: Double?
    }

    /// A reliability curve of the period: a labelled window's, named for which.
    public struct ReliabilityCurve: Sendable, Codable, Equatable {
        public var name: String
        public var windowStart: Date
        public var bins: [ProbabilisticMetrics.ReliabilityBin]
    }

    /// A window in which drift was found, and what drove it.
    public struct DrivenWindow: Sendable, Codable, Equatable {
        public var start: Date
        public var end: Date
        /// Features whose own test flagged the window, by falling score.
        public var drifted: [String]
        /// Multivariate methods that flagged it.
        public var multivariate: [String]
        /// Its three strongest drivers of drift.
        public var drivers: [DriftDriver]
    }

    public var model: String
    public var from: Date
    public var to: Date
    public var metric: String
    public var figures: Figures
    public var incidents: [Incident]
    public var timeline: [TimelineEvent]
    public var windows: [Window]
    /// The first and the latest labelled window's reliability curves (binary classifiers).
    public var reliability: [ReliabilityCurve] = []
    /// The latest windows (at most ``drivenWindowLimit``) in which drift was found, newest first,
    /// with their top drivers.
    public var drivenWindows: [DrivenWindow] = []

    /// Stretches of windows back-filled from history (``MetricsStore/backfilledWindows(model:from:to:grace:)``),
    /// oldest first: what was found in them was found after the fact.
    public var backfilled: [BackfilledSpan] = []

    /// Consecutive back-filled windows.
    public struct BackfilledSpan: Sendable, Codable, Equatable {
        public var start: Date
        public var end: Date
        public var windows: Int
    }

    public static let drivenWindowLimit = 20
}
