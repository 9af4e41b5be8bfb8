import Foundation

/// Drift of one embedding column, as ``DriftResult``s that `vigil drift` and the monitor report
/// beside the other columns'.
///
/// Each side is subsampled to at most `maximumRows` rows by the seed (recorded in the result's
/// parameters with the sizes used), then compared by one of the embedding methods of
/// ``DriftMethod``; every one decides on a p-value against `threshold` (α, 0.05 by default).
public enum EmbeddingDrift {
    public struct Options: Sendable, Equatable {
        public var method: DriftMethod = .mmd
        /// Most rows a side (more are subsampled by `seed`).
        public var maximumRows = 2_000
        /// Permutations of the MMD and mean-distance tests.
        public var permutations = 500
        public var seed: UInt64 = 0
        /// α: drift when the p-value is below it.
        public var threshold = 0.05

        public init() {}
    }

    /// The methods an embedding column can be compared with.
    public static let methods = DriftMethod.allCases.filter(\.supportsEmbedding)

    /// Compares `current` with `reference`.
    ///
    /// - Throws: ``StatisticsError`` when the method is not an embedding method, the dimensions
    ///   differ, or a side has too few rows for it.
    public static func compare(reference: EmbeddingSample, current: EmbeddingSample, options: Options = Options()) throws(StatisticsError) -> DriftResult {
        guard options.method.supportsEmbedding else {
            throw StatisticsError(.invalidParameter, "\(options.method.rawValue) does not compare embeddings; use one of \(methods.map(\.rawValue).joined(separator: ", "))")
        }
        guard options.maximumRows >= 2 else { throw StatisticsError(.invalidParameter, "at least two rows a side") }
        let a = reference.subsample(maximum: options.maximumRows, seed: options.seed)
        let b = current.subsample(maximum: options.maximumRows, seed: options.seed &+ 1)
        var parameters: [String: Double] = [
            "seed": Double(options.seed), "reference_sample": Double(a.count), "current_sample": Double(b.count), "dimension": Double(a.dimension),
        ]
        let score: Double, pValue: Double
        switch options.method {
        case .mmd:
            let result = try MaximumMeanDiscrepancy.test(a, b, permutations: options.permutations, seed: options.seed)
            (score, pValue) = (result.statistic, result.pValue)
            parameters["bandwidth"] = result.bandwidth
            parameters["permutations"] = Double(result.permutations)
        case .domainClassifier:
            let result = try DomainClassifier.test(a, b, seed: options.seed)
            (score, pValue) = (result.auc, result.pValue)
            parameters["held_out_rows"] = Double(result.heldOutRows)
        case .meanDistance:
            let result = try MeanEmbeddingDistance.test(a, b, permutations: options.permutations, seed: options.seed)
            (score, pValue) = (result.euclidean, result.euclideanPValue)
            parameters["cosine"] = result.cosine
            parameters["cosine_p_value"] = result.cosinePValue
            parameters["permutations"] = Double(result.permutations)
        default:
            let result = try ProjectedKolmogorovSmirnov.test(a, b, seed: options.seed)
            (score, pValue) = (result.statistics.max() ?? 0, result.pValue)
            parameters["components"] = Double(result.statistics.count)
            parameters["explained_variance"] = result.explainedVariance
        }
        return DriftResult(
            method: options.method, score: score, pValue: pValue, threshold: options.threshold,
            referenceCount: reference.count, currentCount: current.count, parameters: parameters
        )
    }
}
