import Foundation

/// Drift tests between two numeric samples.
public enum NumericDrift {
    /// Settings shared by the numeric methods.
    public struct Options: Sendable, Equatable {
        /// Number of reference-quantile bins for PSI, KL, Jensen–Shannon and Hellinger.
        public var binCount = 10
        /// Floor applied to empty bins' shares by PSI and KL, so their logarithms stay finite.
        public var epsilon = 1e-4
        /// How KS computes its p-value.
        public var ksMode = KolmogorovSmirnov.Mode.auto

        public init() {}
    }

    /// Compares `current` with `reference` by `method`.
    ///
    /// - Parameter threshold: defaults to ``DriftMethod/defaultThreshold``.
    /// - Throws: ``StatisticsError`` `.invalidParameter` for a categorical-only method or bad options.
    public static func compare(
        _ reference: SortedSample, _ current: SortedSample, method: DriftMethod,
        threshold: Double? = nil, options: Options = Options()
    ) throws(StatisticsError) -> DriftResult {
        guard method.supportsNumeric else {
            throw StatisticsError(.invalidParameter, "\(method.rawValue) applies to categorical columns only")
        }
        guard options.binCount >= 1, options.epsilon > 0 else {
            throw StatisticsError(.invalidParameter, "bins must be at least 1 and epsilon positive")
        }
        let threshold = threshold ?? method.defaultThreshold
        func result(_ score: Double, pValue: Double? = nil, parameters: [String: Double] = [:], edges: [Double]? = nil) -> DriftResult {
            DriftResult(
                method: method, score: score, pValue: pValue, threshold: threshold,
                referenceCount: reference.count, currentCount: current.count,
                referenceMissing: reference.missingCount, currentMissing: current.missingCount,
                parameters: parameters, binEdges: edges
            )
        }
        switch method {
        case .ks:
            let ks = KolmogorovSmirnov.test(reference, current, mode: options.ksMode)
            return result(ks.statistic, pValue: ks.pValue, parameters: ["mode": ks.mode == .exact ? 0 : 1])
        case .wasserstein:
            return result(wasserstein(reference, current))
        case .normedWasserstein:
            let scale = normalisingScale(reference)
            return result(wasserstein(reference, current) / scale, parameters: ["scale": scale])
        case .psi, .kl, .jensenShannon, .hellinger:
            let bins = QuantileBins(reference: reference, binCount: options.binCount)
            let q = Distribution.proportions(bins.counts(reference))
            let p = Distribution.proportions(bins.counts(current))
            let parameters = ["bins": Double(bins.binCount), "epsilon": options.epsilon]
            let score = Distribution.binnedScore(method, p, q, epsilon: options.epsilon)!
            return result(score, parameters: parameters, edges: bins.edges)
        case .chiSquare, .zTest, .totalVariation, .lInfinity:
            throw StatisticsError(.invalidParameter, "\(method.rawValue) applies to categorical columns only")
        case .mmd, .domainClassifier, .meanDistance, .projectedKS:
            throw StatisticsError(.invalidParameter, "\(method.rawValue) applies to embedding columns only")
        }
    }

    /// Wasserstein-1 distance ∫ |F_ref − F_cur| dx, as `scipy.stats.wasserstein_distance`.
    public static func wasserstein(_ reference: SortedSample, _ current: SortedSample) -> Double {
        let a = reference.values, b = current.values
        let n1 = Double(a.count), n2 = Double(b.count)
        var i = 0, j = 0
        var area = KahanSum()
        var value = min(a[0], b[0])
        while i < a.count || j < b.count {
            while i < a.count && a[i] == value { i += 1 }
            while j < b.count && b[j] == value { j += 1 }
            guard i < a.count || j < b.count else { break }
            let next = j == b.count || (i < a.count && a[i] <= b[j]) ? a[i] : b[j]
            area.add(abs(Double(i) / n1 - Double(j) / n2) * (next - value))
            value = next
        }
        return area.value
    }

    /// The reference's population standard deviation; for a constant reference, its absolute
    /// value (or 1 when that is 0), so the normed distance stays finite and meaningful.
    static func normalisingScale(_ reference: SortedSample) -> Double {
        normalisingScale(deviation: reference.standardDeviation, minimum: reference.minimum)
    }

    static func normalisingScale(deviation: Double, minimum: Double) -> Double {
        if deviation > 0 { return deviation }
        return abs(minimum) > 0 ? abs(minimum) : 1
    }
}
