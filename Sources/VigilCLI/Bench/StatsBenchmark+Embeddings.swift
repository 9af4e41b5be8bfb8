import Foundation
import VigilStatistics

extension StatsBenchmark {
    /// MMD with 500 permutations on `embeddingRows` × `embeddingRows` rows of 384 dimensions (a
    /// shift of 0.1 standard deviation in a tenth of them), and the other embedding tests on the
    /// same arrays (the domain classifier on 1,000 rows a side).
    func embeddingFigures() throws -> [String: Any] {
        let dimension = 384
        var random = SeededGenerator(seed: 11)
        let reference = try EmbeddingSample(rows: (0..<embeddingRows).map { _ in (0..<dimension).map { _ in random.normal() } })
        let current = try EmbeddingSample(rows: (0..<embeddingRows).map { _ in
            (0..<dimension).map { index in random.normal(mean: index < dimension / 10 ? 0.1 : 0) }
        })
        var figures: [String: Any] = ["embedding_rows": embeddingRows, "embedding_dimension": dimension]
        var mmd: MaximumMeanDiscrepancy.Result?
        figures["mmd_500_permutations_s"] = try Stopwatch.median(repetitions: repetitions) {
            mmd = try MaximumMeanDiscrepancy.test(reference, current, permutations: 500, seed: 1)
        }
        figures["mmd_estimate"] = mmd.map { "\($0.estimate)" } ?? NSNull()
        figures["mmd_p_value"] = mmd?.pValue ?? NSNull()
        // 1,000 rows a side: the whole kernel matrix.
        let smallReference = reference.subsample(maximum: 1_000, seed: 1), smallCurrent = current.subsample(maximum: 1_000, seed: 2)
        figures["mmd_exact_1000_s"] = try Stopwatch.median(repetitions: repetitions) {
            _ = try MaximumMeanDiscrepancy.test(smallReference, smallCurrent, permutations: 500, seed: 1)
        }
        figures["mean_distance_500_permutations_s"] = try Stopwatch.median(repetitions: repetitions) {
            _ = try MeanEmbeddingDistance.test(reference, current, permutations: 500, seed: 1)
        }
        figures["pca_ks_32_components_s"] = try Stopwatch.median(repetitions: repetitions) {
            _ = try ProjectedKolmogorovSmirnov.test(reference, current, components: 32, seed: 1)
        }
        figures["domain_classifier_1000_s"] = try Stopwatch.median(repetitions: repetitions) {
            _ = try DomainClassifier.test(smallReference, smallCurrent, seed: 1)
        }
        return figures
    }
}
