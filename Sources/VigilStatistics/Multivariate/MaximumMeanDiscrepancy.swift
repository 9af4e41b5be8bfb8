import Foundation

/// The maximum mean discrepancy two-sample test with a Gaussian (RBF) kernel, its p-value from a
/// permutation test (Gretton et al., 2012), as alibi-detect's `MMDDrift` computes it.
///
/// - The kernel is `exp(-‖x − y‖² / (2σ²))`. σ comes from the median heuristic: `2σ²` is the
///   median squared distance between reference and current rows (on at most 1,000 rows of each,
///   drawn by the seed).
/// - The statistic is the unbiased estimate of MMD².
/// - The p-value is `(1 + #{permuted MMD² ≥ observed}) / (1 + permutations)`: the rows are pooled
///   and split at random, by the seed, as often as asked.
/// - Up to ``exactLimit`` pooled rows, the kernel matrix is computed whole. Above it, the kernel is
///   approximated by `features` random Fourier features (Rahimi & Recht, 2007), which keeps time and
///   memory linear in the rows; the permutation test is exact for that kernel, so the level holds.
public enum MaximumMeanDiscrepancy {
    /// How the kernel was evaluated.
    public enum Estimate: Sendable, Equatable, CustomStringConvertible {
        /// The whole kernel matrix.
        case exact
        /// This many random Fourier features.
        case randomFeatures(Int)

        public var description: String {
            switch self {
            case .exact: "exact"
            case let .randomFeatures(count): "random_features(\(count))"
            }
        }
    }

    /// The test's outcome.
    public struct Result: Sendable, Equatable {
        /// Unbiased MMD².
        public let statistic: Double
        public let pValue: Double
        /// The kernel's σ.
        public let bandwidth: Double
        public let permutations: Int
        public let estimate: Estimate
    }

    /// Most pooled rows for which the kernel matrix is computed whole (its memory grows with the
    /// square: 4,000 rows take 64 MB).
    public static let exactLimit = 4_000

    /// Tests whether `reference` and `current` come from one distribution.
    ///
    /// - Parameters:
    ///   - permutations: how many random splits make the null distribution (at least 1).
    ///   - seed: the seed of the bandwidth's subsample, the splits and the random features.
    ///   - bandwidth: σ; `nil` for the median heuristic.
    ///   - features: random Fourier features above `exactRows` pooled rows.
    ///   - exactRows: most pooled rows for the whole kernel matrix (default ``exactLimit``).
    /// - Throws: ``StatisticsError`` when a side has fewer than two rows, the dimensions differ, or a
    ///   parameter is out of range.
    public static func test(
        _ reference: EmbeddingSample, _ current: EmbeddingSample, permutations: Int = 500, seed: UInt64 = 0, bandwidth: Double? = nil, features: Int = 1_024,
        exactRows: Int = exactLimit
    ) throws(StatisticsError) -> Result {
        guard reference.count >= 2, current.count >= 2 else { throw StatisticsError(.emptySample, "MMD needs at least two rows on each side") }
        guard reference.dimension == current.dimension else {
            throw StatisticsError(.mismatchedLengths, "reference rows have \(reference.dimension) values, current rows \(current.dimension)")
        }
        guard permutations >= 1, features >= 1 else { throw StatisticsError(.invalidParameter, "permutations and features must be at least 1") }
        if let bandwidth { guard bandwidth > 0, bandwidth.isFinite else { throw StatisticsError(.invalidParameter, "the bandwidth must be a positive number") } }
        let sigma = bandwidth ?? medianHeuristic(reference, current, seed: seed)
        let pooled = reference.stacked(with: current)
        let statistics: (observed: Double, permuted: [Double])
        let estimate: Estimate
        if pooled.count <= exactRows {
            statistics = KernelMatrix(pooled, gamma: 1 / (2 * sigma * sigma)).statistics(first: reference.count, permutations: permutations, seed: seed)
            estimate = .exact
        } else {
            statistics = RandomFeatures(pooled, sigma: sigma, count: features, seed: seed).statistics(first: reference.count, permutations: permutations, seed: seed)
            estimate = .randomFeatures(features)
        }
        let exceeding = statistics.permuted.count { $0 >= statistics.observed }
        return Result(statistic: statistics.observed, pValue: Double(1 + exceeding) / Double(1 + permutations), bandwidth: sigma,
                      permutations: permutations, estimate: estimate)
    }

    /// σ with `2σ²` the median squared distance between reference and current rows.
    static func medianHeuristic(_ reference: EmbeddingSample, _ current: EmbeddingSample, seed: UInt64) -> Double {
        let left = reference.subsample(maximum: 1_000, seed: seed), right = current.subsample(maximum: 1_000, seed: seed &+ 1)
        let dimension = left.dimension
        var distances = [Float](repeating: 0, count: left.count * right.count)
        left.values.withUnsafeBufferPointer { a in
            right.values.withUnsafeBufferPointer { b in
                for i in 0..<left.count {
                    for j in 0..<right.count {
                        distances[i * right.count + j] = FloatKernels.squaredDistance(a.baseAddress! + i * dimension, b.baseAddress! + j * dimension, dimension)
                    }
                }
            }
        }
        distances.sort()
        let middle = distances.count / 2
        let median = distances.count % 2 == 1 ? Double(distances[middle]) : (Double(distances[middle - 1]) + Double(distances[middle])) / 2
        return median > 0 ? (median / 2).squareRoot() : 1
    }

    /// Unbiased MMD² from sums over the pooled sample: `within1`, `within2` are the off-diagonal
    /// kernel sums within each group, `across` the sum between them.
    static func unbiased(within1: Double, within2: Double, across: Double, n: Int, m: Int) -> Double {
        within1 / Double(n * (n - 1)) + within2 / Double(m * (m - 1)) - 2 * across / Double(n * m)
    }

    /// The indices of a random split's first group (`size` of `total`), drawn by `seed`.
    static func split(size: Int, of total: Int, seed: UInt64) -> [Int] {
        EmbeddingSample.draw(size, of: total, seed: seed)
    }

    /// The seed of permutation `index`.
    static func permutationSeed(_ seed: UInt64, _ index: Int) -> UInt64 {
        (seed ^ 0x5DEE_CE66_D1CE_4E5B) &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
    }
}

/// The pooled sample's kernel matrix with a zero diagonal, and its row sums.
private struct KernelMatrix {
    let count: Int
    let entries: [Float]
    let rowSums: [Double]
    let total: Double

    init(_ pooled: EmbeddingSample, gamma: Double) {
        let count = pooled.count, dimension = pooled.dimension
        let gamma = Float(gamma)
        let rows: [[Float]] = pooled.values.withUnsafeBufferPointer { values in
            Parallel.map(count) { i in
                var row = [Float](repeating: 0, count: count)
                let a = values.baseAddress! + i * dimension
                for j in 0..<count where j != i {
                    row[j] = exp(-gamma * FloatKernels.squaredDistance(a, values.baseAddress! + j * dimension, dimension))
                }
                return row
            }
        }
        entries = rows.flatMap { $0 }
        rowSums = rows.map { $0.reduce(0) { $0 + Double($1) } }
        total = rowSums.reduce(0, +)
        self.count = count
    }

    /// Unbiased MMD² of the split "the first `first` rows against the rest", and of `permutations` random splits.
    func statistics(first: Int, permutations: Int, seed: UInt64) -> (observed: Double, permuted: [Double]) {
        // Sums are taken over the smaller group; MMD² is symmetric in the two.
        let small = min(first, count - first)
        let observed = statistic(group: first <= count - first ? Array(0..<first) : Array(first..<count))
        let permuted = Parallel.map(permutations) { index in
            statistic(group: MaximumMeanDiscrepancy.split(size: small, of: count, seed: MaximumMeanDiscrepancy.permutationSeed(seed, index)))
        }
        return (observed, permuted)
    }

    /// Unbiased MMD² of `group` against the other rows.
    private func statistic(group: [Int]) -> Double {
        var mask = [Float](repeating: 0, count: count)
        for index in group { mask[index] = 1 }
        var within = 0.0, rowTotal = 0.0
        entries.withUnsafeBufferPointer { entries in
            mask.withUnsafeBufferPointer { mask in
                for index in group {
                    within += Double(FloatKernels.dot(entries.baseAddress! + index * count, mask.baseAddress!, count))
                    rowTotal += rowSums[index]
                }
            }
        }
        let across = rowTotal - within
        let other = total - 2 * across - within
        return MaximumMeanDiscrepancy.unbiased(within1: within, within2: other, across: across, n: group.count, m: count - group.count)
    }
}

/// The pooled sample mapped to random Fourier features: `φ(x) = √(2/D) cos(ωᵀx + b)` with
/// `ω ~ N(0, σ⁻² I)` and `b ~ U[0, 2π)`, so that `φ(x)ᵀφ(y)` approximates the RBF kernel.
private struct RandomFeatures {
    let count: Int
    let width: Int
    /// `count × width` features, row after row.
    let features: [Float]
    /// Each row's squared feature norm (its kernel value with itself).
    let norms: [Double]

    init(_ pooled: EmbeddingSample, sigma: Double, count width: Int, seed: UInt64) {
        let dimension = pooled.dimension
        var generator = SeededGenerator(seed: seed ^ 0xF00D)
        let frequencies = (0..<(width * dimension)).map { _ in Float(generator.normal() / sigma) }
        let phases = (0..<width).map { _ in Float(generator.uniform() * 2 * .pi) }
        let scale = Float((2 / Double(width)).squareRoot())
        let rows: [[Float]] = pooled.values.withUnsafeBufferPointer { values in
            frequencies.withUnsafeBufferPointer { frequencies in
                Parallel.map(pooled.count) { i in
                    let x = values.baseAddress! + i * dimension
                    return (0..<width).map { j in scale * cos(FloatKernels.dot(x, frequencies.baseAddress! + j * dimension, dimension) + phases[j]) }
                }
            }
        }
        features = rows.flatMap { $0 }
        norms = rows.map { row in row.reduce(0) { $0 + Double($1 * $1) } }
        count = pooled.count
        self.width = width
    }

    func statistics(first: Int, permutations: Int, seed: UInt64) -> (observed: Double, permuted: [Double]) {
        var all = [Double](repeating: 0, count: width)
        var allNorms = 0.0
        for row in 0..<count {
            for j in 0..<width { all[j] += Double(features[row * width + j]) }
            allNorms += norms[row]
        }
        let small = min(first, count - first)
        let observed = statistic(group: first <= count - first ? Array(0..<first) : Array(first..<count), all: all, allNorms: allNorms)
        let permuted = Parallel.map(permutations) { index in
            statistic(group: MaximumMeanDiscrepancy.split(size: small, of: count, seed: MaximumMeanDiscrepancy.permutationSeed(seed, index)), all: all, allNorms: allNorms)
        }
        return (observed, permuted)
    }

    private func statistic(group: [Int], all: [Double], allNorms: Double) -> Double {
        var sum = [Float](repeating: 0, count: width)
        var groupNorms = 0.0
        features.withUnsafeBufferPointer { features in
            sum.withUnsafeMutableBufferPointer { sum in
                for index in group { FloatKernels.add(features.baseAddress! + index * width, into: sum.baseAddress!, width) }
            }
        }
        for index in group { groupNorms += norms[index] }
        var inGroup = 0.0, inOther = 0.0, across = 0.0
        for j in 0..<width {
            let a = Double(sum[j]), b = all[j] - a
            inGroup += a * a
            inOther += b * b
            across += a * b
        }
        return MaximumMeanDiscrepancy.unbiased(within1: inGroup - groupNorms, within2: inOther - (allNorms - groupNorms), across: across,
                                               n: group.count, m: count - group.count)
    }
}
