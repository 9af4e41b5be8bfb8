/// One column's values, as the drift tests see them.
public enum ColumnValues: Sendable {
    /// Numbers; NaN is missing.
    case numeric([Double])
    /// Categories; a missing row has no category.
    case categorical(CategoryColumn)

    /// How many rows it holds.
    public var count: Int {
        switch self {
        case let .numeric(values): values.count
        case let .categorical(values): values.count
        }
    }

    /// Appends `other`'s values when both are of one kind, growing the storage once and in
    /// place; otherwise the column becomes `other`.
    public mutating func append(contentsOf other: ColumnValues) {
        switch other {
        case let .numeric(more):
            guard case var .numeric(values) = self else { self = other; return }
            self = .numeric([])  // so that `values` holds the only reference to the storage
            values.reserveCapacity(values.count + more.count)
            values.append(contentsOf: more)
            self = .numeric(values)
        case let .categorical(more):
            guard case var .categorical(values) = self else { self = other; return }
            self = .categorical([])
            values.append(contentsOf: more)
            self = .categorical(values)
        }
    }
}

/// The drift decision for one column of a dataset.
public struct ColumnDrift: Sendable, Codable {
    public let column: String
    /// How the column was compared (a numeric column with few distinct values is compared as categorical).
    public let kind: ColumnKind
    /// The test's outcome; `nil` when the column could not be compared (see `error`).
    public let result: DriftResult?
    /// The test that had to confirm an automatically chosen effect size past its threshold (see ``DriftPolicy/significance``).
    public let confirmation: DriftResult?
    /// Why the column could not be compared, for example an all-missing current window.
    public let error: String?
    /// The p-value after the dataset's multiple-testing correction, for hypothesis tests.
    public let adjustedPValue: Double?
    /// The policy's verdict (see ``DriftPolicy/verdicts(_:)``).
    public let drifted: Bool
}

/// The drift decision for a whole dataset: every column's, and whether enough of them drifted.
public struct DatasetDrift: Sendable, Codable {
    public let columns: [ColumnDrift]
    /// Multiple-testing correction applied to the columns' p-values.
    public let correction: DriftCorrection
    /// Drifted columns over compared columns.
    public let driftedShare: Double
    /// The dataset drifts when `driftedShare >= shareThreshold`.
    public let shareThreshold: Double
    public let drifted: Bool

    /// Compares each column of `current` with the same column of `reference`.
    ///
    /// - Parameters:
    ///   - columns: the columns to compare, in report order; each must be in both datasets.
    ///   - policy: methods, thresholds, confirmation, correction and minimum counts.
    ///   - shareThreshold: the share of drifted columns at which the dataset drifts (default 0.5).
    public init(
        reference: [String: ColumnValues], current: [String: ColumnValues], columns: [String],
        policy: DriftPolicy = DriftPolicy(), shareThreshold: Double = 0.5
    ) {
        let outcomes = columns.map { name -> (String, ColumnKind, Result<DriftFinding, StatisticsError>) in
            guard let referenceValues = reference[name], let currentValues = current[name] else {
                let missing = reference[name] == nil ? "reference" : "current"
                return (name, .categorical, .failure(StatisticsError(.invalidParameter, "column is not in the \(missing) data")))
            }
            let (kind, outcome) = Self.compare(referenceValues, currentValues, policy: policy)
            return (name, kind, outcome)
        }
        self.init(outcomes: outcomes, policy: policy, shareThreshold: shareThreshold)
    }

    /// The dataset's verdict from each column's comparison made already (such as an embedding
    /// column's by ``EmbeddingDrift``), in report order: p-values adjusted together by the
    /// policy's correction, and the share of drifted columns against `shareThreshold`.
    public init(outcomes: [(name: String, kind: ColumnKind, outcome: Result<DriftFinding, StatisticsError>)], policy: DriftPolicy, shareThreshold: Double = 0.5) {
        var verdicts = policy.verdicts(outcomes.compactMap { try? $0.outcome.get() }).makeIterator()
        self.columns = outcomes.map { name, kind, outcome in
            switch outcome {
            case let .success(finding):
                let verdict = verdicts.next()!
                return ColumnDrift(
                    column: name, kind: kind, result: finding.result, confirmation: finding.confirmation, error: nil,
                    adjustedPValue: verdict.adjustedPValue, drifted: verdict.drifted
                )
            case let .failure(error):
                return ColumnDrift(column: name, kind: kind, result: nil, confirmation: nil, error: error.message, adjustedPValue: nil, drifted: false)
            }
        }
        let compared = self.columns.filter { $0.result != nil }
        self.correction = policy.correction
        self.shareThreshold = shareThreshold
        driftedShare = compared.isEmpty ? 0 : Double(compared.filter(\.drifted).count) / Double(compared.count)
        drifted = !compared.isEmpty && driftedShare >= shareThreshold
    }

    /// Compares one column by the policy's method for it, with the test that confirms an effect size.
    public static func compare(
        _ reference: ColumnValues, _ current: ColumnValues, policy: DriftPolicy
    ) -> (ColumnKind, Result<DriftFinding, StatisticsError>) {
        do throws(StatisticsError) {
            switch (reference, current) {
            case let (.numeric(referenceValues), .numeric(currentValues)):
                let referenceSample = try SortedSample(referenceValues, name: "reference")
                guard policy.kind(numeric: true, referenceDistinctCount: referenceSample.distinctCount) == .numeric else {
                    return try compareCategorical(
                        CategoryCounts(referenceValues.map(\.categoryLabel)), CategoryCounts(currentValues.map(\.categoryLabel)),
                        policy: policy
                    )
                }
                let currentSample = try SortedSample(currentValues, name: "current")
                try policy.checkCounts(reference: referenceSample.count, current: currentSample.count)
                let method = policy.method(for: .numeric, referenceCount: referenceSample.count, distinctCount: referenceSample.distinctCount)
                let options = policy.numericOptions
                let result = try NumericDrift.compare(referenceSample, currentSample, method: method, threshold: policy.threshold, options: options)
                var confirmation: DriftResult?
                if result.drifted, let test = policy.confirmingTest(for: method, kind: .numeric) {
                    confirmation = try NumericDrift.compare(referenceSample, currentSample, method: test, options: options)
                }
                return (.numeric, .success(DriftFinding(result: result, confirmation: confirmation)))
            case let (.categorical(referenceValues), .categorical(currentValues)):
                return try compareCategorical(CategoryCounts(referenceValues), CategoryCounts(currentValues), policy: policy)
            default:
                throw StatisticsError(.invalidParameter, "the column is numeric in one dataset and categorical in the other")
            }
        } catch {
            let kind: ColumnKind = if case .numeric = reference { .numeric } else { .categorical }
            return (kind, .failure(error))
        }
    }

    private static func compareCategorical(
        _ reference: CategoryCounts, _ current: CategoryCounts, policy: DriftPolicy
    ) throws(StatisticsError) -> (ColumnKind, Result<DriftFinding, StatisticsError>) {
        try StatisticsError.checkUsable(
            reference: (reference.total, reference.missingCount), current: (current.total, current.missingCount)
        )
        try policy.checkCounts(reference: reference.total, current: current.total)
        let distinct = Set(reference.counts.keys).union(current.counts.keys).count
        var method = policy.method(for: .categorical, referenceCount: reference.total, distinctCount: distinct)
        if method == .zTest && distinct > 2 { method = .chiSquare }
        let epsilon = policy.numericOptions.epsilon
        let result = try CategoricalDrift.compare(reference, current, method: method, threshold: policy.threshold, epsilon: epsilon)
        var confirmation: DriftResult?
        if result.drifted, let test = policy.confirmingTest(for: method, kind: .categorical) {
            confirmation = try CategoricalDrift.compare(reference, current, method: test, epsilon: epsilon)
        }
        return (.categorical, .success(DriftFinding(result: result, confirmation: confirmation)))
    }
}

extension Double {
    /// The value as a category label; NaN is missing. Integral values print without a fraction.
    var categoryLabel: String? {
        if isNaN { return nil }
        if self == rounded(), abs(self) < 1e15 { return String(Int64(self)) }
        return String(self)
    }
}
