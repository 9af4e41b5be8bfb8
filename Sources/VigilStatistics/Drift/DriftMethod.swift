/// A way to compare a current sample with a reference sample.
public enum DriftMethod: String, Sendable, Codable, CaseIterable {
    /// Two-sample Kolmogorov–Smirnov test (numeric); decision on the p-value.
    case ks
    /// Population Stability Index over reference-quantile bins (numeric) or categories.
    case psi
    /// Kullback–Leibler divergence KL(current ‖ reference), natural log.
    case kl
    /// Jensen–Shannon distance (square root of the divergence, natural log, in [0, √ln 2]).
    case jensenShannon = "js"
    /// Wasserstein-1 (earth mover's) distance, in the column's units.
    case wasserstein
    /// Wasserstein-1 distance divided by the reference's standard deviation.
    case normedWasserstein = "wasserstein_normed"
    /// Hellinger distance, in [0, 1].
    case hellinger
    /// Chi-square test of homogeneity on the two count vectors (categorical); decision on the p-value.
    case chiSquare = "chisquare"
    /// Two-proportion Z-test for a binary column; decision on the p-value.
    case zTest = "z"
    /// Total variation distance, half the L1 distance of the two distributions, in [0, 1].
    case totalVariation = "tv"
    /// L-infinity distance: the largest change in any one category's share.
    case lInfinity = "linf"
    /// Maximum mean discrepancy of embeddings, RBF kernel, permutation p-value.
    case mmd
    /// Held-out ROC AUC of a classifier telling the sides' embeddings apart, Mann–Whitney p-value.
    case domainClassifier = "domain_classifier"
    /// Euclidean distance between the mean embeddings, permutation p-value (cosine beside it).
    case meanDistance = "mean_distance"
    /// KS on the reference's principal components, Bonferroni over them ("Failing Loudly").
    case projectedKS = "pca_ks"

    /// Whether the decision rests on a p-value (drift when p < threshold) rather than a distance
    /// (drift when score > threshold).
    public var isHypothesisTest: Bool {
        switch self {
        case .ks, .chiSquare, .zTest, .mmd, .domainClassifier, .meanDistance, .projectedKS: true
        default: false
        }
    }

    /// Whether the method compares embeddings (rows of many numbers) rather than single values.
    public var supportsEmbedding: Bool {
        switch self {
        case .mmd, .domainClassifier, .meanDistance, .projectedKS: true
        default: false
        }
    }

    /// Whether the method applies to numeric columns.
    public var supportsNumeric: Bool {
        switch self {
        case .chiSquare, .zTest, .totalVariation, .lInfinity: false
        default: !supportsEmbedding
        }
    }

    /// Whether the method applies to categorical columns.
    public var supportsCategorical: Bool {
        switch self {
        case .ks, .wasserstein, .normedWasserstein: false
        default: !supportsEmbedding
        }
    }

    /// The threshold used when none is given: 0.05 for p-values, 0.1 for distances.
    public var defaultThreshold: Double {
        isHypothesisTest ? 0.05 : 0.1
    }
}
