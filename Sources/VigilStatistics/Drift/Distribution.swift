import Foundation

/// Distances between two discrete probability distributions over the same support.
///
/// `p` is the current distribution and `q` the reference; both are proportions summing to 1.
public enum Distribution {
    /// Population Stability Index: Σ (pᵢ − qᵢ) · ln(pᵢ / qᵢ), after flooring every share at `epsilon`.
    public static func populationStabilityIndex(_ p: [Double], _ q: [Double], epsilon: Double) -> Double {
        var sum = KahanSum()
        for (a, b) in zip(p, q) {
            let pa = max(a, epsilon), qb = max(b, epsilon)
            sum.add((pa - qb) * log(pa / qb))
        }
        return sum.value
    }

    /// KL(p ‖ q) = Σ pᵢ · ln(pᵢ / qᵢ), after flooring every share at `epsilon`.
    public static func kullbackLeibler(_ p: [Double], _ q: [Double], epsilon: Double) -> Double {
        var sum = KahanSum()
        for (a, b) in zip(p, q) {
            let pa = max(a, epsilon), qb = max(b, epsilon)
            sum.add(pa * log(pa / qb))
        }
        return max(sum.value, 0)
    }

    /// Jensen–Shannon distance with natural logarithms, as `scipy.spatial.distance.jensenshannon`.
    public static func jensenShannon(_ p: [Double], _ q: [Double]) -> Double {
        var sum = KahanSum()
        for (a, b) in zip(p, q) {
            let m = (a + b) / 2
            if a > 0 { sum.add(a * log(a / m)) }
            if b > 0 { sum.add(b * log(b / m)) }
        }
        return (max(sum.value, 0) / 2).squareRoot()
    }

    /// Hellinger distance √(1 − Σ √(pᵢqᵢ)), in [0, 1].
    public static func hellinger(_ p: [Double], _ q: [Double]) -> Double {
        var sum = KahanSum()
        for (a, b) in zip(p, q) {
            let root = a.squareRoot() - b.squareRoot()
            sum.add(root * root)
        }
        return (max(sum.value, 0) / 2).squareRoot()
    }

    /// Total variation distance ½ Σ |pᵢ − qᵢ|.
    public static func totalVariation(_ p: [Double], _ q: [Double]) -> Double {
        var sum = KahanSum()
        for (a, b) in zip(p, q) { sum.add(abs(a - b)) }
        return sum.value / 2
    }

    /// L-infinity distance max |pᵢ − qᵢ|.
    public static func lInfinity(_ p: [Double], _ q: [Double]) -> Double {
        zip(p, q).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// PSI, KL, Jensen–Shannon or Hellinger between two binned distributions; `nil` for other methods.
    static func binnedScore(_ method: DriftMethod, _ p: [Double], _ q: [Double], epsilon: Double) -> Double? {
        switch method {
        case .psi: populationStabilityIndex(p, q, epsilon: epsilon)
        case .kl: kullbackLeibler(p, q, epsilon: epsilon)
        case .jensenShannon: jensenShannon(p, q)
        case .hellinger: hellinger(p, q)
        default: nil
        }
    }

    /// Counts as proportions of their total.
    static func proportions(_ counts: [Int]) -> [Double] {
        let total = Double(counts.reduce(0, +))
        return counts.map { total > 0 ? Double($0) / total : 0 }
    }
}
