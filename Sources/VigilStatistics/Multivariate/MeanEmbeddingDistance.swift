import Foundation

/// The distance between the reference's and the current window's mean embedding, Euclidean and
/// cosine, each with a p-value from a permutation test: the rows are pooled and split at random
/// (by the seed) as often as asked, and the p-value is `(1 + #{permuted ≥ observed}) / (1 + permutations)`.
public enum MeanEmbeddingDistance {
    /// The test's outcome.
    public struct Result: Sendable, Equatable {
        /// `‖mean(reference) − mean(current)‖`.
        public let euclidean: Double
        public let euclideanPValue: Double
        /// `1 − cos(mean(reference), mean(current))`.
        public let cosine: Double
        public let cosinePValue: Double
        public let permutations: Int
    }

    /// - Throws: ``StatisticsError`` when a side has no rows, the dimensions differ, or
    ///   `permutations` is below 1.
    public static func test(_ reference: EmbeddingSample, _ current: EmbeddingSample, permutations: Int = 500, seed: UInt64 = 0) throws(StatisticsError) -> Result {
        guard reference.count >= 1, current.count >= 1 else { throw StatisticsError(.emptySample, "the mean distance needs rows on each side") }
        guard reference.dimension == current.dimension else {
            throw StatisticsError(.mismatchedLengths, "reference rows have \(reference.dimension) values, current rows \(current.dimension)")
        }
        guard permutations >= 1 else { throw StatisticsError(.invalidParameter, "permutations must be at least 1") }
        let pooled = reference.stacked(with: current)
        let dimension = pooled.dimension, total = pooled.count
        var all = [Double](repeating: 0, count: dimension)
        for row in 0..<total {
            for j in 0..<dimension { all[j] += Double(pooled.values[row * dimension + j]) }
        }
        /// Both distances when `group` is one side and the other rows the other.
        func distances(group: [Int]) -> (euclidean: Double, cosine: Double) {
            var sum = [Float](repeating: 0, count: dimension)
            pooled.values.withUnsafeBufferPointer { values in
                sum.withUnsafeMutableBufferPointer { sum in
                    for index in group { FloatKernels.add(values.baseAddress! + index * dimension, into: sum.baseAddress!, dimension) }
                }
            }
            let n = Double(group.count), m = Double(total - group.count)
            var squared = 0.0, dot = 0.0, normA = 0.0, normB = 0.0
            for j in 0..<dimension {
                let a = Double(sum[j]) / n, b = (all[j] - Double(sum[j])) / m
                squared += (a - b) * (a - b)
                dot += a * b
                normA += a * a
                normB += b * b
            }
            let denominator = (normA * normB).squareRoot()
            return (squared.squareRoot(), denominator > 0 ? 1 - dot / denominator : 0)
        }
        let observed = distances(group: Array(0..<reference.count))
        let permuted = Parallel.map(permutations) { index in
            distances(group: MaximumMeanDiscrepancy.split(size: reference.count, of: total, seed: MaximumMeanDiscrepancy.permutationSeed(seed, index)))
        }
        func pValue(_ exceeding: Int) -> Double { Double(1 + exceeding) / Double(1 + permutations) }
        return Result(
            euclidean: observed.euclidean, euclideanPValue: pValue(permuted.count { $0.euclidean >= observed.euclidean }),
            cosine: observed.cosine, cosinePValue: pValue(permuted.count { $0.cosine >= observed.cosine }), permutations: permutations
        )
    }
}
