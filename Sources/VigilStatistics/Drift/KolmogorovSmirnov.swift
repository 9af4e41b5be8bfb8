import Foundation

/// The two-sample Kolmogorov–Smirnov test, two-sided, as `scipy.stats.ks_2samp`.
///
/// The statistic is the largest gap between the two empirical CDFs. The p-value follows
/// SciPy's `method='auto'`: exact when both samples have at most 10,000 values (Hodges'
/// lattice-path counting in Viehmann's stable 1 − p form), otherwise the distribution of the
/// one-sample statistic D_n at n = round(n₁n₂ / (n₁ + n₂)). In exact mode the statistic is
/// reported on the lattice (h / lcm(n₁, n₂)), as SciPy does.
public enum KolmogorovSmirnov {
    /// How the p-value is computed.
    public enum Mode: String, Sendable, Codable {
        case auto, exact, asymptotic
    }

    public struct Result: Sendable, Equatable {
        public let statistic: Double
        public let pValue: Double
        /// The mode actually used (never `.auto`).
        public let mode: Mode
    }

    /// Largest sample size for which `.auto` chooses the exact p-value (SciPy's `MAX_AUTO_N`).
    public static let maximumExactSize = 10_000

    public static func test(_ reference: SortedSample, _ current: SortedSample, mode: Mode = .auto) -> Result {
        let d = statistic(reference, current)
        let n1 = reference.count, n2 = current.count
        var chosen = mode
        if chosen == .auto { chosen = max(n1, n2) <= maximumExactSize ? .exact : .asymptotic }
        if chosen == .exact, let (rounded, p) = exactPValue(n1: n1, n2: n2, d: d) {
            return Result(statistic: rounded, pValue: p, mode: .exact)
        }
        let en = Double(n1) * Double(n2) / Double(n1 + n2)
        let n = max(1, Int(en.rounded(.toNearestOrEven)))
        return Result(statistic: d, pValue: KolmogorovDistribution.survival(d, n: n), mode: .asymptotic)
    }

    /// sup |F_ref − F_cur|, by one merge of the sorted samples.
    public static func statistic(_ reference: SortedSample, _ current: SortedSample) -> Double {
        let a = reference.values, b = current.values
        let n1 = Double(a.count), n2 = Double(b.count)
        var i = 0, j = 0
        var largest = 0.0
        while i < a.count || j < b.count {
            let value = j == b.count || (i < a.count && a[i] <= b[j]) ? a[i] : b[j]
            while i < a.count && a[i] == value { i += 1 }
            while j < b.count && b[j] == value { j += 1 }
            largest = max(largest, abs(Double(i) / n1 - Double(j) / n2))
        }
        return min(largest, 1)
    }

    /// The exact two-sided p-value, or `nil` when it cannot be computed reliably.
    static func exactPValue(n1: Int, n2: Int, d: Double) -> (statistic: Double, pValue: Double)? {
        let g = gcd(n1, n2)
        let (lcm, overflow) = (n1 / g).multipliedReportingOverflow(by: n2)
        guard !overflow, n1 / g < Int(Int32.max) / max(n2 / g, 1) else { return nil }
        let h = Int((d * Double(lcm)).rounded(.toNearestOrEven))
        let rounded = Double(h) / Double(lcm)
        if h == 0 { return (rounded, 1) }
        let p = n1 == n2 ? probabilityOutsideSquare(n: n1, h: h) : probabilityOutsideInside(m: n1, n: n2, g: g, h: h)
        guard p.isFinite, (0...1).contains(p) else { return nil }
        return (rounded, p)
    }

    /// Pr(D_{n,n} >= h/n) by the alternating binomial sum, evaluated Horner-style to avoid cancellation.
    private static func probabilityOutsideSquare(n: Int, h: Int) -> Double {
        var p = 0.0
        var k = n / h
        while k >= 0 {
            var term = 1.0
            for j in 0..<h {
                term = Double(n - k * h - j) * term / Double(n + k * h + j + 1)
            }
            p = term * (1 - p)
            k -= 1
        }
        return 2 * p
    }

    /// Pr(D_{m,n} >= h/lcm): the share of lattice paths from (0,0) to (m,n) leaving the band
    /// |x/m − y/n| < h/lcm, by Hodges' inside method, recursing on 1 − p (Viehmann 2021).
    private static func probabilityOutsideInside(m: Int, n: Int, g: Int, h: Int) -> Double {
        let (m, n) = m < n ? (n, m) : (m, n)
        let mg = m / g, ng = n / g
        var minJ = 0
        var maxJ = min(Int((Double(h) / Double(mg)).rounded(.up)), n + 1)
        var currentLength = maxJ - minJ
        let length = min(2 * maxJ + 2, n + 1)
        var column = [Double](repeating: 1, count: max(length, n + 1))
        for index in minJ..<maxJ { column[index] = 0 }
        for i in 1...m {
            let lastMinJ = minJ, lastLength = currentLength
            minJ = min(max(Int((Double(ng * i - h) / Double(mg)).rounded(.down)) + 1, 0), n)
            maxJ = min(Int((Double(ng * i + h) / Double(mg)).rounded(.up)), n + 1)
            if maxJ <= minJ { return 1 }
            var value = minJ == 0 ? 0.0 : 1.0
            for jj in 0..<(maxJ - minJ) {
                let j = jj + minJ
                value = (column[jj + minJ - lastMinJ] * Double(i) + value * Double(j)) / Double(i + j)
                column[jj] = value
            }
            currentLength = maxJ - minJ
            if lastLength > currentLength {
                for index in currentLength..<(currentLength + lastLength - currentLength) { column[index] = 1 }
            }
        }
        return column[maxJ - minJ - 1]
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
