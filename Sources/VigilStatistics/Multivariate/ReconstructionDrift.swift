import Foundation

/// Multivariate drift by data reconstruction, as NannyML's `DataReconstructionDriftCalculator`:
/// standardise each column on the reference, keep the principal components that explain
/// `varianceShare` of its variance, and measure how far rows lie from their reconstruction from
/// those components. A change in how the columns move together (a correlation that flips)
/// raises the error even when every column's own distribution stays the same.
///
/// The reference is cut into chunks of `chunkSize` rows; the thresholds are the chunks' mean
/// error ± 3 standard deviations. A window whose mean error leaves them has drifted.
public struct ReconstructionDrift: Sendable {
    public let means: [Double]
    public let deviations: [Double]
    public let components: PrincipalComponents
    /// Mean reconstruction error of the whole reference.
    public let referenceError: Double
    public let lower: Double
    public let upper: Double

    /// - Throws: ``StatisticsError`` when the reference has fewer than two chunks' worth of rows.
    public init(reference: EmbeddingSample, chunkSize: Int? = nil, varianceShare: Double = 0.65, seed: UInt64 = 0) throws(StatisticsError) {
        let d = reference.dimension, n = reference.count
        let chunk = chunkSize ?? max(10, n / 10)
        guard chunk >= 2, n >= 2 * chunk else { throw StatisticsError(.emptySample, "the reference needs at least two chunks of \(chunk) rows") }
        guard varianceShare > 0, varianceShare <= 1 else { throw StatisticsError(.invalidParameter, "the variance share must be in (0, 1]") }
        var means = [Double](repeating: 0, count: d), deviations = [Double](repeating: 0, count: d)
        for row in 0..<n { for j in 0..<d { means[j] += Double(reference.values[row * d + j]) } }
        for j in 0..<d { means[j] /= Double(n) }
        for row in 0..<n { for j in 0..<d { let x = Double(reference.values[row * d + j]) - means[j]; deviations[j] += x * x } }
        deviations = deviations.map { let s = ($0 / Double(n - 1)).squareRoot(); return s > 0 ? s : 1 }
        self.means = means
        self.deviations = deviations
        let standardised = Self.standardise(reference, means: means, deviations: deviations)
        let full = try PrincipalComponents(fitting: standardised, count: min(d, 64), seed: seed)
        var kept = 0, explained = 0.0
        while kept < full.variances.count, explained < varianceShare * full.totalVariance {
            explained += full.variances[kept]
            kept += 1
        }
        components = full.keeping(max(1, kept))
        let errors = components.reconstructionErrors(standardised)
        referenceError = errors.reduce(0, +) / Double(n)
        let chunks = stride(from: 0, to: n - chunk + 1, by: chunk).map { start in errors[start..<(start + chunk)].reduce(0, +) / Double(chunk) }
        let mean = chunks.reduce(0, +) / Double(chunks.count)
        let deviation = (chunks.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(chunks.count - 1)).squareRoot()
        lower = max(0, mean - 3 * deviation)
        upper = mean + 3 * deviation
    }

    /// The mean reconstruction error of `sample`'s rows.
    public func error(of sample: EmbeddingSample) -> Double {
        let errors = components.reconstructionErrors(Self.standardise(sample, means: means, deviations: deviations))
        return errors.reduce(0, +) / Double(max(1, errors.count))
    }

    /// Whether `sample`'s mean error lies outside the reference's thresholds.
    public func isDrifted(_ sample: EmbeddingSample) -> Bool {
        let value = error(of: sample)
        return value < lower || value > upper
    }

    private static func standardise(_ sample: EmbeddingSample, means: [Double], deviations: [Double]) -> EmbeddingSample {
        let d = sample.dimension
        return EmbeddingSample(count: sample.count, dimension: d, values: sample.values.indices.map { Float((Double(sample.values[$0]) - means[$0 % d]) / deviations[$0 % d]) })
    }
}

extension PrincipalComponents {
    /// The first `count` components only.
    func keeping(_ count: Int) -> PrincipalComponents {
        PrincipalComponents(mean: mean, components: Array(components.prefix(count)), variances: Array(variances.prefix(count)), totalVariance: totalVariance)
    }
}
