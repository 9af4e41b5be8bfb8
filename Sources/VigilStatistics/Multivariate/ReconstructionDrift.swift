import Foundation

/// Multivariate drift by data reconstruction, as NannyML's `DataReconstructionDriftCalculator`:
/// standardise each column on the reference, keep the principal components that explain
/// `varianceShare` of its variance, and measure how far rows lie from their reconstruction from
/// those components. A change in how the columns move together (a correlation that flips)
/// raises the error even when every column's own distribution stays the same.
///
/// The components are fitted on a seeded half of the reference; the other half is cut into
/// chunks of `chunkSize` rows (a tenth of it by default); the thresholds are the chunks' mean
/// error ± 3 standard deviations. A window whose mean error leaves them has drifted. A window of
/// another size than a chunk has the deviation scaled by √(chunk / rows), as a mean's sampling
/// error scales (see ``limits(rows:)``).
public struct ReconstructionDrift: Sendable {
    public let means: [Double]
    public let deviations: [Double]
    public let components: PrincipalComponents
    /// Mean reconstruction error of the reference rows the components were not fitted on.
    public let referenceError: Double
    /// The thresholds for a window of one chunk's rows.
    public let lower: Double
    public let upper: Double
    /// Rows per reference chunk, and the chunks' mean error and its standard deviation.
    public let chunkSize: Int
    let chunkMean: Double
    let chunkDeviation: Double

    /// - Throws: ``StatisticsError`` when the reference has fewer than two chunks' worth of rows
    ///   in the half the limits are taken from.
    public init(reference: EmbeddingSample, chunkSize: Int? = nil, varianceShare: Double = 0.65, seed: UInt64 = 0) throws(StatisticsError) {
        // Fitted on a seeded half, limits from the other: rows the components were fitted on lie
        // closer to them than new rows do, so in-sample chunks would set the limits too low.
        let fitted = reference.subsample(maximum: reference.count / 2, seed: seed)
        let held = reference.complement(of: fitted, seed: seed)
        let d = reference.dimension, n = fitted.count
        let chunk = chunkSize ?? max(10, held.count / 10)
        guard chunk >= 2, n >= 2, held.count >= 2 * chunk else {
            throw StatisticsError(.emptySample, "the reference needs at least two chunks of \(chunk) rows beside the rows it is fitted on")
        }
        guard varianceShare > 0, varianceShare <= 1 else { throw StatisticsError(.invalidParameter, "the variance share must be in (0, 1]") }
        var means = [Double](repeating: 0, count: d), deviations = [Double](repeating: 0, count: d)
        for row in 0..<n { for j in 0..<d { means[j] += Double(fitted.values[row * d + j]) } }
        for j in 0..<d { means[j] /= Double(n) }
        for row in 0..<n { for j in 0..<d { let x = Double(fitted.values[row * d + j]) - means[j]; deviations[j] += x * x } }
        deviations = deviations.map { let s = ($0 / Double(n - 1)).squareRoot(); return s > 0 ? s : 1 }
        self.means = means
        self.deviations = deviations
        let full = try PrincipalComponents(fitting: Self.standardise(fitted, means: means, deviations: deviations), count: min(d, 64), seed: seed)
        var kept = 0, explained = 0.0
        while kept < full.variances.count, explained < varianceShare * full.totalVariance {
            explained += full.variances[kept]
            kept += 1
        }
        components = full.keeping(max(1, kept))
        let errors = components.reconstructionErrors(Self.standardise(held, means: means, deviations: deviations))
        referenceError = errors.reduce(0, +) / Double(errors.count)
        let chunks = stride(from: 0, to: errors.count - chunk + 1, by: chunk).map { start in errors[start..<(start + chunk)].reduce(0, +) / Double(chunk) }
        let mean = chunks.reduce(0, +) / Double(chunks.count)
        let deviation = (chunks.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(chunks.count - 1)).squareRoot()
        self.chunkSize = chunk
        chunkMean = mean
        chunkDeviation = deviation
        lower = max(0, mean - 3 * deviation)
        upper = mean + 3 * deviation
    }

    /// The thresholds for a window of `rows` rows: the chunks' mean ± 3 deviations × √(chunk / rows).
    public func limits(rows: Int) -> (lower: Double, upper: Double) {
        let spread = 3 * chunkDeviation * (Double(chunkSize) / Double(max(1, rows))).squareRoot()
        return (max(0, chunkMean - spread), chunkMean + spread)
    }

    /// The mean reconstruction error of `sample`'s rows.
    public func error(of sample: EmbeddingSample) -> Double {
        let errors = components.reconstructionErrors(Self.standardise(sample, means: means, deviations: deviations))
        return errors.reduce(0, +) / Double(max(1, errors.count))
    }

    /// Whether `sample`'s mean error lies outside the reference's thresholds.
    public func isDrifted(_ sample: EmbeddingSample) -> Bool {
        let value = error(of: sample), limits = limits(rows: sample.count)
        return value < limits.lower || value > limits.upper
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
