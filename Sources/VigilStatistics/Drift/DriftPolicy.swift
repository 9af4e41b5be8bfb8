/// The rule that picks a drift method and threshold for a column when none is given.
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
/// of category shares. See `docs/statistics.md`.
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

    public init() {}

    /// The method for a column of `kind` whose reference has `referenceCount` values.
    public func method(for kind: ColumnKind, referenceCount: Int, distinctCount: Int) -> DriftMethod {
        if let method, kind == .numeric ? method.supportsNumeric : method.supportsCategorical {
            return method
        }
        let large = referenceCount > largeSampleSize
        switch kind {
        case .numeric: return large ? .normedWasserstein : .ks
        case .categorical: return large ? .jensenShannon : (distinctCount <= 2 ? .zTest : .chiSquare)
        }
    }
}

/// How a column's values are compared.
public enum ColumnKind: String, Sendable, Codable {
    case numeric, categorical
}
