import Foundation

/// A small, fast, seedable random generator (SplitMix64; Steele, Lea & Flood, 2014).
///
/// Everything in Vigil that needs randomness and must be reproducible — sketch compaction,
/// deterministic sampling, simulated traffic, benchmarks — draws from one of these.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable, Codable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A normal value by the Box–Muller transform.
    public mutating func normal(mean: Double = 0, deviation: Double = 1) -> Double {
        let u = max(uniform(), .leastNonzeroMagnitude), v = uniform()
        return mean + deviation * (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}
