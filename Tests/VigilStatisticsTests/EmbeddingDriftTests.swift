import Foundation
import Testing
@testable import VigilStatistics
import VigilTesting

/// Samples for the embedding tests: standard normal rows, optionally shifted or rescaled in some dimensions.
enum EmbeddingFixtures {
    static func sample(_ rows: Int, dimension: Int, seed: UInt64, shift: Double = 0, scale: Double = 1, affected: Int = 0) throws -> EmbeddingSample {
        var random = SeededGenerator(seed: seed)
        return try EmbeddingSample(rows: (0..<rows).map { _ in
            (0..<dimension).map { index in index < affected ? random.normal(mean: shift, deviation: scale) : random.normal() }
        })
    }

    /// Pairs of rows whose two features are correlated by `rho` (standard normal marginals).
    static func correlated(_ rows: Int, rho: Double, seed: UInt64) -> [[Double]] {
        var random = SeededGenerator(seed: seed)
        return (0..<rows).map { _ in
            let a = random.normal(), b = random.normal()
            return [a, rho * a + (1 - rho * rho).squareRoot() * b]
        }
    }
}

@Suite("Embedding and multivariate drift", .computeBound)
struct EmbeddingDriftTests {
    @Test("MMD² matches a direct computation of the unbiased estimate, and the random-feature estimate tracks the exact one")
    func mmdStatistic() throws {
        let a = try EmbeddingFixtures.sample(60, dimension: 5, seed: 1), b = try EmbeddingFixtures.sample(70, dimension: 5, seed: 2, shift: 0.8, affected: 2)
        let result = try MaximumMeanDiscrepancy.test(a, b, permutations: 200, seed: 3, bandwidth: 2)
        func k(_ x: [Double], _ y: [Double]) -> Double { exp(-zip(x, y).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / (2 * 4)) }
        let x = (0..<a.count).map(a.row), y = (0..<b.count).map(b.row)
        var xx = 0.0, yy = 0.0, xy = 0.0
        for i in x.indices { for j in x.indices where i != j { xx += k(x[i], x[j]) } }
        for i in y.indices { for j in y.indices where i != j { yy += k(y[i], y[j]) } }
        for i in x.indices { for j in y.indices { xy += k(x[i], y[j]) } }
        let expected = xx / Double(60 * 59) + yy / Double(70 * 69) - 2 * xy / Double(60 * 70)
        #expect(abs(result.statistic - expected) < 1e-5, "\(result.statistic) vs \(expected)")
        #expect(result.estimate == .exact && result.pValue < 0.01)
        let approximate = try MaximumMeanDiscrepancy.test(a, b, permutations: 200, seed: 3, bandwidth: 2, features: 8_192, exactRows: 0)
        #expect(approximate.estimate == .randomFeatures(8_192) && abs(approximate.statistic - expected) < 0.02 * max(1, expected * 10), "\(approximate.statistic) vs \(expected)")
        #expect(approximate.pValue < 0.01)
        // Reproducible with its seed.
        #expect(try MaximumMeanDiscrepancy.test(a, b, permutations: 200, seed: 3) == MaximumMeanDiscrepancy.test(a, b, permutations: 200, seed: 3))
    }

    @Test("principal components agree with the covariance's eigen-decomposition")
    func principalComponents() throws {
        // Variances 9, 4, 1 along the axes, rotated by 30° in the first plane.
        var random = SeededGenerator(seed: 5)
        let angle = Double.pi / 6
        let rows = (0..<4_000).map { _ -> [Double] in
            let u = random.normal() * 3, v = random.normal() * 2, w = random.normal()
            return [cos(angle) * u - sin(angle) * v, sin(angle) * u + cos(angle) * v, w]
        }
        let pca = try PrincipalComponents(fitting: EmbeddingSample(rows: rows), count: 3)
        #expect(abs(pca.variances[0] - 9) < 0.6 && abs(pca.variances[1] - 4) < 0.3 && abs(pca.variances[2] - 1) < 0.1, "\(pca.variances)")
        #expect(abs(abs(pca.components[0][0]) - cos(angle)) < 0.02 && abs(abs(pca.components[0][1]) - sin(angle)) < 0.02, "\(pca.components[0])")
        #expect(abs(pca.variances.reduce(0, +) - pca.totalVariance) < 1e-9)
        let top = try PrincipalComponents(fitting: EmbeddingSample(rows: rows), count: 1)
        #expect(abs(top.variances[0] - pca.variances[0]) < 1e-6)
    }

    // Debug builds run these loops slowly: the suite checks calibration and power at 32 and 64
    // dimensions; `vigil bench stats` times the 384-dimension case in a release build.
    @Test("under no drift, each embedding test flags at most 10% of 60 pairs at α = 0.05")
    func nullCalibration() throws {
        var flagged = ["mmd": 0, "mean_euclidean": 0, "mean_cosine": 0, "pca_ks": 0, "domain_classifier": 0]
        let pairs = 60
        for pair in 0..<pairs {
            let seed = UInt64(pair) * 2
            let a = try EmbeddingFixtures.sample(200, dimension: 32, seed: seed + 1_000), b = try EmbeddingFixtures.sample(200, dimension: 32, seed: seed + 1_001)
            if try MaximumMeanDiscrepancy.test(a, b, permutations: 100, seed: seed).pValue < 0.05 { flagged["mmd", default: 0] += 1 }
            let mean = try MeanEmbeddingDistance.test(a, b, permutations: 100, seed: seed)
            if mean.euclideanPValue < 0.05 { flagged["mean_euclidean", default: 0] += 1 }
            if mean.cosinePValue < 0.05 { flagged["mean_cosine", default: 0] += 1 }
            if try ProjectedKolmogorovSmirnov.test(a, b, components: 8, seed: seed).pValue < 0.05 { flagged["pca_ks", default: 0] += 1 }
            if try DomainClassifier.test(a, b, seed: seed).pValue < 0.05 { flagged["domain_classifier", default: 0] += 1 }
        }
        #expect(flagged.allSatisfy { $0.value <= 6 }, "\(flagged)")
    }

    @Test("a shift of 0.3 standard deviation in 10% of 64 dimensions, and a change of covariance with equal means, are flagged")
    func power() throws {
        let reference = try EmbeddingFixtures.sample(500, dimension: 64, seed: 100)
        let shifted = try EmbeddingFixtures.sample(500, dimension: 64, seed: 200, shift: 0.3, affected: 6)
        let spread = try EmbeddingFixtures.sample(500, dimension: 64, seed: 300, scale: 1.6, affected: 6)
        #expect(try MaximumMeanDiscrepancy.test(reference, shifted, permutations: 100, seed: 1).pValue < 0.05)
        #expect(try MeanEmbeddingDistance.test(reference, shifted, permutations: 100, seed: 1).euclideanPValue < 0.05)
        #expect(try MaximumMeanDiscrepancy.test(reference, spread, permutations: 100, seed: 1).pValue < 0.05)
        #expect(try DomainClassifier.test(reference, spread, seed: 1).pValue < 0.05)
    }

    @Test("two features that change only their correlation: the multivariate tests flag the window, no univariate KS test does")
    func correlationOnly() throws {
        let reference = EmbeddingFixtures.correlated(2_000, rho: 0.9, seed: 1), current = EmbeddingFixtures.correlated(2_000, rho: -0.9, seed: 2)
        for column in 0..<2 {
            let ks = KolmogorovSmirnov.test(try SortedSample(reference.map { $0[column] }), try SortedSample(current.map { $0[column] }))
            #expect(ks.pValue > 0.05, "column \(column): KS p = \(ks.pValue)")
        }
        let a = try EmbeddingSample(rows: reference), b = try EmbeddingSample(rows: current)
        #expect(try DomainClassifier.test(a, b, seed: 1).pValue < 0.001)
        #expect(try MaximumMeanDiscrepancy.test(a, b, permutations: 200, seed: 1).pValue < 0.01)
        let reconstruction = try ReconstructionDrift(reference: a, seed: 1)
        #expect(reconstruction.isDrifted(b), "error \(reconstruction.error(of: b)) outside \(reconstruction.lower)…\(reconstruction.upper)")
        #expect(!reconstruction.isDrifted(try EmbeddingSample(rows: EmbeddingFixtures.correlated(2_000, rho: 0.9, seed: 3))))
    }

    @Test("one of seven features drifts: the domain classifier ranks it first")
    func rootCause() throws {
        var random = SeededGenerator(seed: 9)
        let reference = (0..<7).map { _ in (0..<1_500).map { _ in random.normal() } }
        var current = (0..<7).map { _ in (0..<1_500).map { _ in random.normal() } }
        current[4] = (0..<1_500).map { _ in random.normal(mean: 0.3) }
        let result = try DomainClassifier.test(reference: reference, current: current, seed: 2)
        let ranking = result.importances.indices.sorted { result.importances[$0] > result.importances[$1] }
        #expect(ranking.first == 4, "\(result.importances)")
        #expect(result.pValue < 0.001 && result.auc > 0.55)
    }
}
