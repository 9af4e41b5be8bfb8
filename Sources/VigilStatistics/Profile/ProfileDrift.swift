/// Drift tests on stored profiles instead of raw rows.
///
/// - Binned methods (PSI, KL, Jensen–Shannon, Hellinger) are **exact** when both profiles have
///   histograms on the same edges (use the reference's ``QuantileBins/edges``): they then see the
///   very counts the raw-data test would.
/// - Kolmogorov–Smirnov and Wasserstein are **approximate**, from the quantile sketches. Each
///   sketch's CDF is within its ``QuantileSketch/rankErrorBound`` ε of the true CDF (99 %
///   confidence), so the KS statistic is within ε₁ + ε₂ of the exact one, and Wasserstein-1
///   within (ε₁ + ε₂)·(max − min). The bound is reported as the `bound` parameter. The KS p-value
///   is the asymptotic one at the approximate statistic.
/// - Categorical methods are exact on the frequencies (unless a profile was truncated).
public enum ProfileDrift {
    public static func compare(
        _ reference: NumericProfile, _ current: NumericProfile, method: DriftMethod,
        threshold: Double? = nil, epsilon: Double = 1e-4
    ) throws(StatisticsError) -> DriftResult {
        guard method.supportsNumeric else {
            throw StatisticsError(.invalidParameter, "\(method.rawValue) applies to categorical columns only")
        }
        try StatisticsError.checkUsable(
            reference: (reference.count, reference.missingCount), current: (current.count, current.missingCount)
        )
        let threshold = threshold ?? method.defaultThreshold
        func result(_ score: Double, pValue: Double? = nil, parameters: [String: Double], edges: [Double]? = nil) -> DriftResult {
            DriftResult(
                method: method, score: score, pValue: pValue, threshold: threshold,
                referenceCount: reference.count, currentCount: current.count,
                referenceMissing: reference.missingCount, currentMissing: current.missingCount,
                parameters: parameters, binEdges: edges
            )
        }
        let bound = reference.sketch.rankErrorBound + current.sketch.rankErrorBound
        switch method {
        case .ks:
            let d = sketchKolmogorovSmirnov(reference.sketch, current.sketch)
            let en = Double(reference.count) * Double(current.count) / Double(reference.count + current.count)
            let p = KolmogorovDistribution.survival(d, n: max(1, Int(en.rounded(.toNearestOrEven))))
            return result(d, pValue: p, parameters: ["mode": 1, "bound": bound])
        case .wasserstein, .normedWasserstein:
            let distance = sketchWasserstein(reference.sketch, current.sketch)
            let range = max(reference.maximum, current.maximum) - min(reference.minimum, current.minimum)
            if method == .wasserstein {
                return result(distance, parameters: ["bound": bound * range])
            }
            let scale = NumericDrift.normalisingScale(deviation: reference.standardDeviation ?? 0, minimum: reference.minimum)
            return result(distance / scale, parameters: ["scale": scale, "bound": bound * range / scale])
        case .psi, .kl, .jensenShannon, .hellinger:
            guard let edges = reference.edges, edges == current.edges,
                  let referenceCounts = reference.histogram, let currentCounts = current.histogram
            else {
                throw StatisticsError(.invalidParameter, "\(method.rawValue) on profiles needs histograms on the same edges")
            }
            let q = Distribution.proportions(referenceCounts)
            let p = Distribution.proportions(currentCounts)
            let score = Distribution.binnedScore(method, p, q, epsilon: epsilon)!
            return result(score, parameters: ["bins": Double(edges.count + 1), "epsilon": epsilon], edges: edges)
        case .chiSquare, .zTest, .totalVariation, .lInfinity:
            throw StatisticsError(.invalidParameter, "\(method.rawValue) applies to categorical columns only")
        case .mmd, .domainClassifier, .meanDistance, .projectedKS:
            throw StatisticsError(.invalidParameter, "\(method.rawValue) applies to embedding columns only")
        }
    }

    /// Categorical drift on two frequency profiles; exact unless a profile was truncated.
    public static func compare(
        _ reference: CategoricalProfile, _ current: CategoricalProfile, method: DriftMethod,
        threshold: Double? = nil, epsilon: Double = 1e-4
    ) throws(StatisticsError) -> DriftResult {
        try CategoricalDrift.compare(
            reference.comparableCounts, current.comparableCounts, method: method, threshold: threshold, epsilon: epsilon
        )
    }

    /// sup |F̂₁ − F̂₂| over the retained items of both sketches (where the step CDFs change).
    static func sketchKolmogorovSmirnov(_ a: QuantileSketch, _ b: QuantileSketch) -> Double {
        min(stepCDFs(a, b).reduce(0) { max($0, abs($1.a - $1.b)) }, 1)
    }

    /// ∫ |F̂₁ − F̂₂| dx between the sketches' step CDFs.
    static func sketchWasserstein(_ a: QuantileSketch, _ b: QuantileSketch) -> Double {
        let steps = stepCDFs(a, b)
        var area = KahanSum()
        for (step, next) in zip(steps, steps.dropFirst()) {
            area.add(abs(step.a - step.b) * (next.point - step.point))
        }
        return area.value
    }

    /// Both sketches' estimated CDFs at every distinct retained value, ascending, in one sweep
    /// over their items in order (each CDF is the running weight of the items at or below the
    /// value, as ``QuantileSketch/cdf(_:)`` computes it one value at a time).
    private static func stepCDFs(_ a: QuantileSketch, _ b: QuantileSketch) -> [(point: Double, a: Double, b: Double)] {
        let itemsA = a.weightedItems(), itemsB = b.weightedItems()
        var points = itemsA.map(\.value) + itemsB.map(\.value)
        points.sort()
        var steps: [(point: Double, a: Double, b: Double)] = []
        steps.reserveCapacity(points.count)
        var nextA = 0, nextB = 0
        var rankA = 0.0, rankB = 0.0
        for point in points where steps.last?.point != point {
            while nextA < itemsA.count, itemsA[nextA].value <= point {
                rankA += itemsA[nextA].weight
                nextA += 1
            }
            while nextB < itemsB.count, itemsB[nextB].value <= point {
                rankB += itemsB[nextB].weight
                nextB += 1
            }
            steps.append((point, a.count == 0 ? 0 : min(1, rankA / Double(a.count)), b.count == 0 ? 0 : min(1, rankB / Double(b.count))))
        }
        return steps
    }
}
