/// Every choice behind a drift verdict, in one place: which columns are compared as numbers,
/// which method and threshold apply, when an effect size also needs a test's support, how
/// p-values are corrected across columns, and how few values are too few.
///
/// `vigil drift` (raw values, ``DatasetDrift``) and the window monitor (stored profiles) both
/// decide through it, so on the same two samples they reach the same verdicts.
///
/// A p-value answers "is there any difference?", and on large samples every negligible shift is
/// significant: a KS test on a million rows flags a 0.01σ move. So the rule uses hypothesis tests
/// only on small samples and, past ``largeSampleSize`` reference rows, decides on an effect size
/// whose threshold does not shrink with n. These are the defaults of Evidently's data-drift preset
/// (Evidently AI, "Data drift" algorithm documentation), which follow that reasoning:
///
/// | column | reference rows ≤ 1,000 | reference rows > 1,000 |
/// | --- | --- | --- |
/// | numeric, more than 5 distinct values | KS, p < 0.05 | normed Wasserstein > 0.1 |
/// | categorical, or numeric with ≤ 5 distinct values | chi-square, p < 0.05 (Z-test when binary) | Jensen–Shannon > 0.1 |
///
/// A normed Wasserstein distance of 0.1 means the mass moved by a tenth of the reference's
/// standard deviation on average; a Jensen–Shannon distance of 0.1 is roughly a 10 % reshuffle
/// of category shares. An automatically chosen effect size counts only when a test also rejects
/// "no change" at ``significance`` (a small current window can push a distance past its threshold
/// by sampling noise alone). See `docs/statistics.md`.
public struct DriftPolicy: Sendable, Equatable {
    /// Above this many reference rows, decisions rest on effect sizes instead of p-values.
    public var largeSampleSize = 1_000
    /// Numeric columns with at most this many distinct reference values are treated as categorical.
    public var maximumDistinctForCategorical = 5
    /// A method to use for every column it applies to, instead of the automatic choice.
    public var method: DriftMethod?
    /// A threshold to use instead of the method's default.
    public var threshold: Double?
    /// Settings of the numeric methods (bins, epsilon, KS mode).
    public var numericOptions = NumericDrift.Options()
    /// An automatically chosen effect size above its threshold counts as drift only when a test
    /// (KS for numbers, chi-square for categories) also rejects "no change" at this level; `nil`
    /// decides on the effect size alone. Never applied to a method given explicitly.
    public var significance: Double? = 0.001
    /// How hypothesis-test p-values are adjusted across the columns compared together.
    public var correction: DriftCorrection = .benjaminiHochberg
    /// A column with fewer non-missing values than this on either side is not compared.
    public var minimumCount = 30

    public init() {}

    /// How a column is compared: numbers with few distinct reference values as categories.
    public func kind(numeric: Bool, referenceDistinctCount: Int) -> ColumnKind {
        numeric && referenceDistinctCount > maximumDistinctForCategorical ? .numeric : .categorical
    }

    /// The method for a column of `kind` whose reference has `referenceCount` values.
    public func method(for kind: ColumnKind, referenceCount: Int, distinctCount: Int) -> DriftMethod {
        if kind == .embedding { return method.flatMap { $0.supportsEmbedding ? $0 : nil } ?? .mmd }
        if let method, kind == .numeric ? method.supportsNumeric : method.supportsCategorical {
            return method
        }
        let large = referenceCount > largeSampleSize
        switch kind {
        case .numeric: return large ? .normedWasserstein : .ks
        case .categorical: return large ? .jensenShannon : (distinctCount <= 2 ? .zTest : .chiSquare)
        case .embedding: return .mmd // decided above
        }
    }

    /// The test an effect size of `method` needs to be confirmed by, if any.
    public func confirmingTest(for method: DriftMethod, kind: ColumnKind) -> DriftMethod? {
        guard self.method == nil, significance != nil, !method.isHypothesisTest else { return nil }
        return kind == .numeric ? .ks : .chiSquare
    }

    /// Refuses a comparison with fewer than ``minimumCount`` non-missing values on either side.
    public func checkCounts(reference: Int, current: Int) throws(StatisticsError) {
        for (side, count) in [("reference", reference), ("current", current)] where count < minimumCount {
            throw StatisticsError(
                .invalidParameter, "only \(count) non-missing values in the \(side) data; the policy compares \(minimumCount) or more"
            )
        }
    }

    /// The verdicts on columns compared together, in their order: each test's p-value adjusted by
    /// ``correction``, drift when it falls below the test's threshold; each effect size drifts past
    /// its threshold, if its confirming test (when there is one) rejects at ``significance``.
    public func verdicts(_ findings: [DriftFinding]) -> [DriftVerdict] {
        let tested = findings.enumerated().compactMap { index, finding -> (Int, Double)? in
            guard finding.result.method.isHypothesisTest, let p = finding.result.pValue else { return nil }
            return (index, p)
        }
        let adjusted = correction.adjusted(tested.map(\.1))
        let adjustedByIndex = Dictionary(uniqueKeysWithValues: zip(tested.map(\.0), adjusted))
        return findings.enumerated().map { index, finding in
            if let p = adjustedByIndex[index] {
                return DriftVerdict(adjustedPValue: p, drifted: p < finding.result.threshold)
            }
            var drifted = finding.result.drifted
            if drifted, let confirmation = finding.confirmation, let level = significance, let p = confirmation.pValue {
                drifted = p < level
            }
            return DriftVerdict(adjustedPValue: nil, drifted: drifted)
        }
    }
}

/// How a column's values are compared.
public enum ColumnKind: String, Sendable, Codable {
    case numeric, categorical
    /// Arrays of numbers compared whole (``EmbeddingDrift``).
    case embedding
}

/// Multiple-testing correction across the columns compared together.
public enum DriftCorrection: String, Sendable, Codable, CaseIterable {
    case none
    /// Benjamini–Hochberg: controls the false discovery rate.
    case benjaminiHochberg = "bh"
    /// Bonferroni: controls the family-wise error rate.
    case bonferroni

    func adjusted(_ pValues: [Double]) -> [Double] {
        switch self {
        case .none: pValues
        case .benjaminiHochberg: MultipleTesting.benjaminiHochberg(pValues)
        case .bonferroni: MultipleTesting.bonferroni(pValues)
        }
    }
}

/// One column's comparison before the verdict: the chosen method's result and, for an
/// automatically chosen effect size past its threshold, the test that must confirm it.
public struct DriftFinding: Sendable {
    public let result: DriftResult
    public let confirmation: DriftResult?

    public init(result: DriftResult, confirmation: DriftResult? = nil) {
        self.result = result
        self.confirmation = confirmation
    }
}

/// A column's verdict under a ``DriftPolicy``.
public struct DriftVerdict: Sendable, Equatable {
    /// The test's p-value after the correction across columns; `nil` for effect sizes.
    public let adjustedPValue: Double?
    public let drifted: Bool
}
