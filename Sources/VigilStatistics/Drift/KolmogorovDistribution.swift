import Foundation

/// The distribution of the two-sided one-sample Kolmogorov–Smirnov statistic D_n.
///
/// ``survival(_:n:)`` is Pr(D_n > x), computed the way Simard & L'Ecuyer (2011) recommend and
/// `scipy.stats.kstwo` does: Ruben–Gambino closed forms at the ends, the exact one-sided
/// Smirnov sum (doubled) in the upper tail, the Durbin matrix (Marsaglia–Tsang–Wang 2003)
/// and Pomeranz (1974) recursions for small n, and the Pelz–Good (1976) expansion for large n.
enum KolmogorovDistribution {
    static func survival(_ x: Double, n: Int) -> Double {
        precondition(n > 0)
        if x >= 1 { return 0 }
        if x <= 0 { return 1 }
        let nd = Double(n)
        let t = nd * x
        if t <= 1 {
            if t <= 0.5 { return 1 }
            let cdf: Double
            if n <= 140 {
                var product = 1.0
                for i in 1...n { product *= Double(i) / nd * (2 * t - 1) }
                cdf = product
            } else {
                cdf = exp(logFactorialOverPower(n) + nd * log(2 * t - 1))
            }
            return clip(1 - cdf)
        }
        if t >= nd - 1 { return clip(2 * pow(1 - x, nd)) }
        if x >= 0.5 { return clip(2 * smirnovSurvival(n: n, x)) }
        let nxSquared = t * x
        if n <= 140 {
            if nxSquared <= 0.754693 { return clip(1 - durbinMatrixCDF(n: n, x)) }
            if nxSquared <= 4 { return clip(1 - pomeranzCDF(n: n, x)) }
            return clip(2 * smirnovSurvival(n: n, x))
        }
        if nxSquared >= 370 { return 0 }
        if nxSquared >= 2.2 { return clip(2 * smirnovSurvival(n: n, x)) }
        let cdf: Double
        if nxSquared >= 18 {
            cdf = 1
        } else if n <= 100_000 && nd * pow(x, 1.5) <= 1.4 {
            cdf = durbinMatrixCDF(n: n, x)
        } else {
            cdf = pelzGoodCDF(n: n, x)
        }
        return clip(1 - cdf)
    }

    private static func clip(_ p: Double) -> Double { min(max(p, 0), 1) }

    /// log(n! / n^n) by Stirling's series, without forming n·log(n).
    private static func logFactorialOverPower(_ n: Int) -> Double {
        let coefficients = [
            -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3,
            8.4175084175084175084e-4, -5.952380952380952381e-4, 7.9365079365079365079e-4,
            -2.7777777777777777778e-3, 8.3333333333333333333e-2,
        ]
        let nd = Double(n), rn = 1 / nd
        let polynomial = coefficients.reduce(0.0) { $0 * (rn / nd) + $1 }
        return log(nd) / 2 - nd + log(2 * Double.pi) / 2 + rn * polynomial
    }

    /// Pr(D+_n > x), the exact one-sided Smirnov tail (Birnbaum–Tingey sum), terms in log space.
    static func smirnovSurvival(n: Int, _ x: Double) -> Double {
        if x <= 0 { return 1 }
        if x >= 1 { return 0 }
        let nd = Double(n)
        let last = Int((nd * (1 - x)).rounded(.down))
        let logNFactorial = SpecialFunctions.logGamma(nd + 1)
        var sum = KahanSum()
        for v in 0...last {
            let vd = Double(v)
            let a = x + vd / nd
            let b = 1 - a
            guard b > 0 || v == n else { continue }
            var term = logNFactorial - SpecialFunctions.logGamma(vd + 1) - SpecialFunctions.logGamma(nd - vd + 1) + (vd - 1) * log(a)
            if n - v > 0 { term += (nd - vd) * log(b) }
            if term > -745 { sum.add(exp(term)) }
        }
        return clip(sum.value * x)
    }

    /// Pr(D_n <= x) by the Durbin matrix method with MTW's scaling.
    private static func durbinMatrixCDF(n: Int, _ x: Double) -> Double {
        let nd = Double(n) * x
        if nd <= 0.5 { return 0 }
        let k = Int(nd.rounded(.up))
        let h = Double(k) - nd
        let m = 2 * k - 1
        var v = [Double](repeating: 0, count: m)
        var w = [Double](repeating: 0, count: m)
        var factorial = 1.0
        for j in 1...m {
            w[j - 1] = factorial
            factorial /= Double(j)
            v[j - 1] = (1 - pow(h, Double(j))) * factorial
        }
        let tt = pow(max(2 * h - 1, 0), Double(m)) - 2 * pow(h, Double(m))
        v[m - 1] = (1 + tt) * factorial

        var matrix = SquareMatrix(size: m)
        for i in 1..<m {
            for row in (i - 1)..<m { matrix[row, i] = w[row - (i - 1)] }
        }
        for row in 0..<m { matrix[row, 0] = v[row] }
        for column in 0..<m { matrix[m - 1, column] = v[m - 1 - column] }

        var power = SquareMatrix.identity(size: m)
        var remaining = n
        var exponent = 0, matrixExponent = 0
        let scale = 0x1p128, scaleExponent = 128
        while remaining > 0 {
            if remaining % 2 == 1 {
                power = power * matrix
                exponent += matrixExponent
            }
            matrix = matrix * matrix
            matrixExponent *= 2
            if abs(matrix[k - 1, k - 1]) > scale {
                matrix.scale(by: 1 / scale)
                matrixExponent += scaleExponent
            }
            remaining /= 2
        }
        var p = power[k - 1, k - 1]
        for i in 1...n {
            p = Double(i) * p / Double(n)
            if abs(p) < 1 / scale {
                p *= scale
                exponent -= scaleExponent
            }
        }
        return clip(scalbn(p, exponent))
    }

    /// Pr(D_n <= x) by the Pomeranz recursion.
    private static func pomeranzCDF(n: Int, _ x: Double) -> Double {
        let t = Double(n) * x
        let ll = Int(t.rounded(.down))
        let f = t - Double(ll)
        let g = min(f, 1 - f)
        let ceilF = f > 0 ? 1 : 0
        let roundF = f > 0.5 ? 1 : 0
        let powers = 2 * (ll + 1)
        var gPower = [Double](repeating: 1, count: powers)
        var twoGPower = [Double](repeating: 1, count: powers)
        var oneMinusTwoGPower = [Double](repeating: 1, count: powers)
        let nd = Double(n)
        for m in 1..<powers {
            gPower[m] = gPower[m - 1] * (g / nd) / Double(m)
            twoGPower[m] = twoGPower[m - 1] * (2 * g / nd) / Double(m)
            oneMinusTwoGPower[m] = oneMinusTwoGPower[m - 1] * ((1 - 2 * g) / nd) / Double(m)
        }
        var v0 = [Double](repeating: 0, count: powers)
        var v1 = [Double](repeating: 0, count: powers)
        v1[0] = 1
        var v0Start = 0, v1Start = 0
        var exponent = 0
        let scale = 0x1p128
        func bounds(_ i: Int) -> (Int, Int) {
            var j1: Int, j2: Int
            if i == 0 {
                j1 = -ll - ceilF - 1; j2 = ll + ceilF - 1
            } else {
                let half = (i + 1) / 2, odd = (i + 1) % 2
                if odd == 0 {
                    if half == n + 1 {
                        j1 = n - ll - ceilF - 1; j2 = n + ll + ceilF - 1
                    } else {
                        j1 = half - 1 - ll - roundF - 1; j2 = half + ll - 1 + ceilF - 1
                    }
                } else {
                    j1 = half - 1 - ll - 1; j2 = half + ll + roundF - 1
                }
            }
            return (max(j1 + 2, 0), min(j2, n))
        }
        var (j1, _) = bounds(0)
        for i in 1..<(2 * n + 2) {
            let k1 = j1
            swap(&v0, &v1)
            swap(&v0Start, &v1Start)
            for index in v1.indices { v1[index] = 0 }
            let (newJ1, j2) = bounds(i)
            j1 = newJ1
            let weights = (i == 1 || i == 2 * n + 1) ? gPower : (i % 2 == 1 ? twoGPower : oneMinusTwoGPower)
            let length = j2 - k1 + 1
            if length > 0 {
                let start = j1 - k1, count = j2 - j1 + 1
                // conv[start + c] = Σ_a V0[k1 - v0Start + a] * weights[start + c - a]
                var largest = 0.0
                for c in 0..<count {
                    let target = start + c
                    var total = 0.0
                    for a in 0...min(target, length - 1) where target - a < length {
                        let source = k1 - v0Start + a
                        guard source >= 0 && source < v0.count else { continue }
                        total += v0[source] * weights[target - a]
                    }
                    v1[c] = total
                    largest = max(largest, total)
                }
                if largest > 0 && largest < 1 / scale {
                    for c in 0..<count { v1[c] *= scale }
                    exponent -= 128
                }
                v1Start = v0Start + j1 - k1
            }
        }
        var answer = v1[n - v1Start]
        for m in 1...n {
            if abs(answer) > scale {
                answer /= scale
                exponent += 128
            }
            answer *= Double(m)
        }
        return clip(scalbn(answer, exponent))
    }

    /// Pr(D_n <= x) by the Pelz–Good asymptotic expansion.
    private static func pelzGoodCDF(n: Int, _ x: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let z = Double(n).squareRoot() * x
        let z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2
        let pi2 = Double.pi * Double.pi, pi4 = pi2 * pi2, pi6 = pi4 * pi2
        let qLog = -pi2 / 8 / z2
        if qLog < -708 { return 0 }
        let q = exp(qLog)
        let k1a = -z2, k1b = pi2 / 4
        let k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4, k2c = pi4 * (1 - 2 * z2) / 16
        let k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16
        let k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * pow(z, 8)
        var terms = [0.0, 0.0, 0.0, 0.0]
        let maxK = Int((16 * z / Double.pi).rounded(.up))
        for k in stride(from: maxK, through: 1, by: -1) {
            let m = Double(2 * k - 1)
            let m2 = m * m, m4 = m2 * m2, m6 = m4 * m2
            let qPower = pow(q, Double(8 * k))
            let coefficients = [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6]
            for index in 0..<4 { terms[index] = terms[index] * qPower + coefficients[index] }
        }
        let sqrt2Pi = (2 * Double.pi).squareRoot()
        let divisors = [z, 6 * z4, 72 * pow(z, 7), 6480 * pow(z, 10)]
        for index in 0..<4 { terms[index] = terms[index] * q * sqrt2Pi / divisors[index] }
        let q2 = exp(-pi2 / 2 / z2)
        var k2Extra = 0.0, k3Extra = 0.0
        let sqrt3z = 3.0.squareRoot() * z
        for k in stride(from: maxK, through: 1, by: -1) {
            let kd = Double(k)
            let power = pow(q2, kd * kd)
            k2Extra += kd * kd * power
            let kPi = Double.pi * kd
            k3Extra += (sqrt3z + kPi) * (sqrt3z - kPi) * kd * kd * power
        }
        terms[2] += k2Extra * pi2 * sqrt2Pi / (-36 * z3)
        terms[3] += k3Extra * pi2 * sqrt2Pi / (216 * z6)
        var total = 0.0
        for index in 0..<4 { total += terms[index] / pow(Double(n), Double(index) / 2) }
        return total
    }
}

/// A dense square matrix, just enough for the Durbin matrix power.
struct SquareMatrix {
    let size: Int
    private var storage: [Double]

    init(size: Int) {
        self.size = size
        storage = [Double](repeating: 0, count: size * size)
    }

    static func identity(size: Int) -> SquareMatrix {
        var matrix = SquareMatrix(size: size)
        for i in 0..<size { matrix[i, i] = 1 }
        return matrix
    }

    subscript(row: Int, column: Int) -> Double {
        get { storage[row * size + column] }
        set { storage[row * size + column] = newValue }
    }

    mutating func scale(by factor: Double) {
        for index in storage.indices { storage[index] *= factor }
    }

    static func * (lhs: SquareMatrix, rhs: SquareMatrix) -> SquareMatrix {
        var result = SquareMatrix(size: lhs.size)
        let n = lhs.size
        lhs.storage.withUnsafeBufferPointer { a in
            rhs.storage.withUnsafeBufferPointer { b in
                result.storage.withUnsafeMutableBufferPointer { c in
                    for i in 0..<n {
                        for k in 0..<n {
                            let aik = a[i * n + k]
                            if aik == 0 { continue }
                            for j in 0..<n { c[i * n + j] += aik * b[k * n + j] }
                        }
                    }
                }
            }
        }
        return result
    }
}
