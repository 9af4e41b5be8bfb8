import Foundation

/// Principal components of a sample: its mean and the leading eigenvectors of its covariance,
/// by decreasing variance.
///
/// The leading `k` are found by subspace iteration on the covariance (a seeded random start,
/// 40 rounds, then Rayleigh–Ritz with a Jacobi eigensolver on the `k × k` projection); when `k`
/// is the dimension, the decomposition is exact. A projection fitted on the reference alone is a
/// fixed map of the current rows, so tests on it keep their level however well it converged.
public struct PrincipalComponents: Sendable, Equatable {
    public let mean: [Double]
    /// Unit vectors, `components[c][j]` the weight of value `j` in component `c`.
    public let components: [[Double]]
    /// The variance along each component.
    public let variances: [Double]
    /// The sample's total variance (the covariance's trace).
    public let totalVariance: Double

    /// Fits the leading `count` components of `sample` (at most its dimension).
    ///
    /// - Throws: ``StatisticsError`` when the sample has fewer than two rows or `count` is not positive.
    public init(fitting sample: EmbeddingSample, count: Int, seed: UInt64 = 0) throws(StatisticsError) {
        guard sample.count >= 2 else { throw StatisticsError(.emptySample, "principal components need at least two rows") }
        guard count >= 1 else { throw StatisticsError(.invalidParameter, "at least one component") }
        let d = sample.dimension, n = sample.count, k = min(count, d)
        var mean = [Double](repeating: 0, count: d)
        for row in 0..<n { for j in 0..<d { mean[j] += Double(sample.values[row * d + j]) } }
        for j in 0..<d { mean[j] /= Double(n) }
        // The covariance, row-major d × d.
        let centred: [Float] = (0..<(n * d)).map { sample.values[$0] - Float(mean[$0 % d]) }
        let rows = centred.withUnsafeBufferPointer { centred in
            Parallel.map(d) { i in
                (0..<d).map { j in j < i ? 0 : Double(Self.columnDot(centred.baseAddress!, i, j, n: n, d: d)) / Double(n - 1) }
            }
        }
        var covariance = [Double](repeating: 0, count: d * d)
        for i in 0..<d { for j in i..<d { covariance[i * d + j] = rows[i][j]; covariance[j * d + i] = rows[i][j] } }
        totalVariance = (0..<d).reduce(0) { $0 + covariance[$1 * d + $1] }

        // Subspace iteration: Q (d × k, column-major as k vectors) ← orth(C Q).
        var basis: [[Double]]
        if k == d {
            basis = (0..<d).map { c in (0..<d).map { $0 == c ? 1 : 0 } }
        } else {
            var generator = SeededGenerator(seed: seed)
            basis = Self.orthonormalised((0..<k).map { _ in (0..<d).map { _ in generator.normal() } })
            for _ in 0..<40 { basis = Self.orthonormalised(basis.map { Self.multiply(covariance, $0, d: d) }) }
        }
        // Rayleigh–Ritz: the k × k matrix Qᵀ C Q, diagonalised.
        let images = basis.map { Self.multiply(covariance, $0, d: d) }
        var projected = [Double](repeating: 0, count: k * k)
        for a in 0..<k { for b in 0..<k { projected[a * k + b] = zip(basis[a], images[b]).reduce(0) { $0 + $1.0 * $1.1 } } }
        let (values, vectors) = SymmetricEigen.decompose(projected, size: k)
        let order = values.indices.sorted { values[$0] > values[$1] }
        components = order.map { e in
            (0..<d).map { j in (0..<k).reduce(0) { $0 + basis[$1][j] * vectors[$1 * k + e] } }
        }
        variances = order.map { max(0, values[$0]) }
        self.mean = mean
    }

    init(mean: [Double], components: [[Double]], variances: [Double], totalVariance: Double) {
        self.mean = mean
        self.components = components
        self.variances = variances
        self.totalVariance = totalVariance
    }

    /// Each row's coordinates along the components: `result[c][row]`.
    public func project(_ sample: EmbeddingSample) -> [[Double]] {
        let d = sample.dimension
        return components.map { component in
            (0..<sample.count).map { row in (0..<d).reduce(0) { $0 + (Double(sample.values[row * d + $1]) - mean[$1]) * component[$1] } }
        }
    }

    /// Each row's Euclidean distance from its reconstruction from the components.
    public func reconstructionErrors(_ sample: EmbeddingSample) -> [Double] {
        let d = sample.dimension
        return (0..<sample.count).map { row in
            let centred = (0..<d).map { Double(sample.values[row * d + $0]) - mean[$0] }
            var residual = centred
            for component in components {
                let coordinate = zip(centred, component).reduce(0) { $0 + $1.0 * $1.1 }
                for j in 0..<d { residual[j] -= coordinate * component[j] }
            }
            return residual.reduce(0) { $0 + $1 * $1 }.squareRoot()
        }
    }

    /// Σ over rows of column i × column j of the centred row-major matrix.
    private static func columnDot(_ values: UnsafePointer<Float>, _ i: Int, _ j: Int, n: Int, d: Int) -> Double {
        var sum = 0.0
        for row in 0..<n { sum += Double(values[row * d + i]) * Double(values[row * d + j]) }
        return sum
    }

    private static func multiply(_ matrix: [Double], _ vector: [Double], d: Int) -> [Double] {
        (0..<d).map { i in (0..<d).reduce(0) { $0 + matrix[i * d + $1] * vector[$1] } }
    }

    /// Modified Gram–Schmidt, twice over for stability; a vector that vanishes is replaced by a unit axis.
    private static func orthonormalised(_ vectors: [[Double]]) -> [[Double]] {
        var result: [[Double]] = []
        for vector in vectors {
            var v = vector
            for _ in 0..<2 {
                for q in result {
                    let projection = zip(v, q).reduce(0) { $0 + $1.0 * $1.1 }
                    for j in v.indices { v[j] -= projection * q[j] }
                }
            }
            var norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm < 1e-12 {
                v = v.indices.map { $0 == result.count % v.count ? 1 : 0 }
                norm = 1
            }
            result.append(v.map { $0 / norm })
        }
        return result
    }
}

/// Eigenvalues and eigenvectors of a small symmetric matrix by the cyclic Jacobi method.
enum SymmetricEigen {
    /// `matrix` row-major `size × size`; returns the eigenvalues and the eigenvectors as the
    /// columns of a row-major matrix (`vectors[i * size + e]` is entry `i` of vector `e`).
    static func decompose(_ matrix: [Double], size n: Int) -> (values: [Double], vectors: [Double]) {
        var a = matrix
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        let scale = max(a.reduce(0) { $0 + $1 * $1 }, .leastNormalMagnitude)
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<n { for q in (p + 1)..<max(p + 1, n) { off += a[p * n + q] * a[p * n + q] } }
            if off <= 1e-24 * scale { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) where a[p * n + q] != 0 {
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q])
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { a[$0 * n + $0] }, v)
    }
}
