import VigilStatistics

/// The data a workflow monitors: an inference log (Vigil's own, or a user's table or view) and
/// what its columns mean.
public struct MonitoredData: Sendable, Hashable, Codable {
    public enum ProblemType: String, Sendable, Hashable, Codable, CaseIterable {
        case classification, regression
    }

    /// A user's table or view; `nil` uses Vigil's own inference log for the workflow's model.
    public var table: String?
    public var timestamp: String
    public var prediction: String
    public var label: String?
    public var score: String?
    public var requestID: String
    public var problemType: ProblemType
    /// The declared features, with types and ranges, in file order.
    public var features: [ColumnSchema]
    /// Window length, such as `1h`.
    public var granularity: WorkflowDuration
    /// What each window is compared with.
    public var baseline: Baseline
    /// Slicing expressions: a column name, or a condition such as `region = 'EU'`.
    public var slices: [String]
    /// Business metrics: a name and an SQL aggregate over the window's rows, such as
    /// `avg(CASE WHEN prediction = '1' THEN 1 ELSE 0 END)`.
    public var metrics: [BusinessMetric] = []
    /// How long a label whose request has not been logged yet is kept, waiting for it
    /// (`label_grace`; ``defaultLabelGrace`` when not given).
    public var labelGrace: WorkflowDuration?
    /// How a binary classifier's scores are calibrated for estimates before labels
    /// (`calibration: isotonic | platt`; isotonic when not given).
    public var calibration: ScoreCalibration.Method?
    /// How a model server's request and response bodies map to rows (`payload`), for the
    /// CloudEvents endpoint; `nil` takes the declared features in order and the first output.
    public var payload: PayloadMapping?
    /// How long logged inferences are kept (`retention: 90d`); `nil`: the deployment's default
    /// (kept for ever unless one is set). Metrics and the audit log are never pruned.
    public var retention: WorkflowDuration?

    /// The features compared value by value (every declared feature but embeddings).
    public var scalarFeatures: [ColumnSchema] { features.filter { $0.type != .embedding } }
    /// The embedding features, in declaration order (the order of `inference_log.embeddings`).
    public var embeddingFeatures: [ColumnSchema] { features.filter { $0.type == .embedding } }

    /// Labels may arrive before their inference; after this long without one they are dropped.
    public static let defaultLabelGrace = WorkflowDuration(seconds: 30 * 86_400)

    /// A business metric declared in a workflow.
    public struct BusinessMetric: Sendable, Hashable, Codable {
        public var name: String
        /// One SQL aggregate expression over the window's rows.
        public var aggregate: String

        public init(name: String, aggregate: String) {
            self.name = name
            self.aggregate = aggregate
        }
    }

    public init(
        table: String? = nil, timestamp: String, prediction: String, label: String? = nil, score: String? = nil,
        requestID: String = "request_id", problemType: ProblemType, features: [ColumnSchema], granularity: WorkflowDuration,
        baseline: Baseline = .previous, slices: [String] = [], metrics: [BusinessMetric] = []
    ) {
        self.table = table
        self.timestamp = timestamp
        self.prediction = prediction
        self.label = label
        self.score = score
        self.requestID = requestID
        self.problemType = problemType
        self.features = features
        self.granularity = granularity
        self.baseline = baseline
        self.slices = slices
        self.metrics = metrics
    }

    /// The reference a window is compared with.
    public enum Baseline: Sendable, Hashable, Codable {
        /// A training baseline table.
        case table(String)
        /// A fixed window, `start` to `end` (ISO 8601).
        case fixed(start: String, end: String)
        /// The window before.
        case previous
        /// The same window `period` earlier (for example a week).
        case seasonal(period: WorkflowDuration)
        /// The logged rows of the training window of the version that was champion when the
        /// window began: it moves with every promotion or rollback, which the changelog records.
        case championTraining
        /// The `period` just before the window (such as `7d`).
        case rolling(period: WorkflowDuration)
    }
}
