/// One column's values, as the drift tests see them.
public enum ColumnValues: Sendable {
    /// Numbers; NaN is missing.
    case numeric([Double])
    /// Categories; `nil` is missing.
    case categorical([String?])
}

/// The drift decision for one column of a dataset.
public struct ColumnDrift: Sendable, Codable {
    public let column: String
    /// How the column was compared (a numeric column with few distinct values is compared as categorical).
    public let kind: ColumnKind
    /// The test's outcome; `nil` when the column could not be compared (see `error`).
    public let result: DriftResult?
    /// Why the column could not be compared, for example an all-missing current window.
    public let error: String?
    /// The p-value after the dataset's multiple-testing correction, for hypothesis tests.
    public let adjustedPValue: Double?
    /// The decision after correction: adjusted p < threshold for tests, score > threshold otherwise.
    public let drifted: Bool
}

/// The drift decision for a whole dataset: every column's, and whether enough of them drifted.
public struct DatasetDrift: Sendable, Codable {
    /// Multiple-testing correction applied to the columns' p-values.
    public enum Correction: String, Sendable, Codable, CaseIterable {
        case none
        /// Benjamini–Hochberg: controls the false discovery rate.
        case benjaminiHochberg = "bh"
        /// Bonferroni: controls the family-wise error rate.
        case bonferroni
    }

    public let columns: [ColumnDrift]
    public let correction: Correction
    /// Drifted columns over compared columns.
    public let driftedShare: Double
    /// The dataset drifts when `driftedShare >= shareThreshold`.
    public let shareThreshold: Double
    public let drifted: Bool

    /// Compares each column of `current` with the same column of `reference`.
    ///
    /// - Parameters:
    ///   - columns: the columns to compare, in report order; each must be in both datasets.
    ///   - correction: adjusts hypothesis-test p-values across columns (default Benjamini–Hochberg).
    ///   - shareThreshold: the share of drifted columns at which the dataset drifts (default 0.5).
    public init(
        reference: [String: ColumnValues], current: [String: ColumnValues], columns: [String],
        policy: DriftPolicy = DriftPolicy(), correction: Correction = .benjaminiHochberg, shareThreshold: Double = 0.5
    ) {
        var outcomes: [(String, ColumnKind, Result<DriftResult, StatisticsError>)] = []
        for name in columns {
            guard let referenceValues = reference[name], let currentValues = current[name] else {
                let missing = reference[name] == nil ? "reference" : "current"
                outcomes.append((name, .categorical, .failure(StatisticsError(.invalidParameter, "column is not in the \(missing) data"))))
                continue
            }
            let (kind, outcome) = Self.compare(referenceValues, currentValues, policy: policy)
            outcomes.append((name, kind, outcome))
        }
        let tested = outcomes.enumerated().compactMap { index, outcome -> (Int, Double)? in
            guard case let .success(result) = outcome.2, result.method.isHypothesisTest, let p = result.pValue else { return nil }
            return (index, p)
        }
        let adjusted: [Double] = switch correction {
        case .none: tested.map(\.1)
        case .benjaminiHochberg: MultipleTesting.benjaminiHochberg(tested.map(\.1))
        case .bonferroni: MultipleTesting.bonferroni(tested.map(\.1))
        }
        let adjustedByIndex = Dictionary(uniqueKeysWithValues: zip(tested.map(\.0), adjusted))
        self.columns = outcomes.enumerated().map { index, outcome in
            switch outcome.2 {
            case let .success(result):
                let pValue = adjustedByIndex[index]
                let drifted = if let pValue { pValue < result.threshold } else { result.drifted }
                return ColumnDrift(column: outcome.0, kind: outcome.1, result: result, error: nil, adjustedPValue: pValue, drifted: drifted)
            case let .failure(error):
                return ColumnDrift(column: outcome.0, kind: outcome.1, result: nil, error: error.message, adjustedPValue: nil, drifted: false)
            }
        }
        let compared = self.columns.filter { $0.result != nil }
        self.correction = correction
        self.shareThreshold = shareThreshold
        driftedShare = compared.isEmpty ? 0 : Double(compared.filter(\.drifted).count) / Double(compared.count)
        drifted = !compared.isEmpty && driftedShare >= shareThreshold
    }

    /// Compares one column by the policy's method for it.
    public static func compare(
        _ reference: ColumnValues, _ current: ColumnValues, policy: DriftPolicy
    ) -> (ColumnKind, Result<DriftResult, StatisticsError>) {
        do throws(StatisticsError) {
            switch (reference, current) {
            case let (.numeric(referenceValues), .numeric(currentValues)):
                let referenceSample = try SortedSample(referenceValues, name: "reference")
                if referenceSample.distinctCount <= policy.maximumDistinctForCategorical {
                    return try compareCategorical(
                        CategoryCounts(referenceValues.map(\.categoryLabel)), CategoryCounts(currentValues.map(\.categoryLabel)),
                        policy: policy
                    )
                }
                let currentSample = try SortedSample(currentValues, name: "current")
                let method = policy.method(for: .numeric, referenceCount: referenceSample.count, distinctCount: referenceSample.distinctCount)
                let result = try NumericDrift.compare(
                    referenceSample, currentSample, method: method, threshold: policy.threshold, options: policy.numericOptions
                )
                return (.numeric, .success(result))
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
    ) throws(StatisticsError) -> (ColumnKind, Result<DriftResult, StatisticsError>) {
        let distinct = Set(reference.counts.keys).union(current.counts.keys).count
        var method = policy.method(for: .categorical, referenceCount: reference.total, distinctCount: distinct)
        if method == .zTest && distinct > 2 { method = .chiSquare }
        let result = try CategoricalDrift.compare(
            reference, current, method: method, threshold: policy.threshold, epsilon: policy.numericOptions.epsilon
        )
        return (.categorical, .success(result))
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
