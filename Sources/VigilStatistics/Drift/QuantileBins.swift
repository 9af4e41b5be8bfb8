/// Bins whose edges are the reference sample's quantiles, shared by the binned numeric methods.
///
/// Interior edges are the reference's k/B quantiles for k = 1 … B−1 (linear interpolation, as
/// `numpy.quantile`), with repeated edges merged, so a column with heavy ties or a constant column
/// gets fewer, non-empty bins. Bin i holds values in [eᵢ, eᵢ₊₁), with the outer bins open-ended,
/// so every current value falls in some bin even outside the reference's range.
public struct QuantileBins: Sendable, Equatable {
    /// The interior edges, strictly ascending.
    public let edges: [Double]

    public init(reference: SortedSample, binCount: Int) {
        var edges: [Double] = []
        if binCount > 1 {
            for k in 1..<binCount {
                let edge = reference.quantile(Double(k) / Double(binCount))
                if edges.last != edge { edges.append(edge) }
            }
        }
        self.edges = edges
    }

    /// Bins on edges chosen elsewhere (a stored reference profile's).
    ///
    /// - Precondition: `edges` is strictly ascending.
    public init(edges: [Double]) {
        self.edges = edges
    }

    public var binCount: Int { edges.count + 1 }

    /// How many of the sample's values fall in each bin.
    public func counts(_ sample: SortedSample) -> [Int] {
        var counts: [Int] = []
        counts.reserveCapacity(binCount)
        var previous = 0
        for edge in edges {
            let below = sample.countBelow(edge)
            counts.append(below - previous)
            previous = below
        }
        counts.append(sample.count - previous)
        return counts
    }
}
