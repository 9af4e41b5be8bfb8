import Foundation
import Testing
@testable import VigilStatistics
import VigilTesting

/// Seeded random samples for property tests: many shapes, reproducible.
struct SampleGenerator {
    var random: SeededGenerator

    init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    mutating func uniform() -> Double { random.uniform() }

    mutating func normal(mean: Double = 0, deviation: Double = 1) -> Double { random.normal(mean: mean, deviation: deviation) }

    mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(random.next() % UInt64(range.count)) }

    /// A sample of `count` values of a randomly chosen shape: normal, heavy ties, skewed, with NaNs.
    mutating func sample(count: Int) -> [Double] {
        let shape = int(0..<4), location = normal(deviation: 5), scale = 0.1 + uniform() * 3
        return (0..<count).map { _ in
            switch shape {
            case 0: normal(mean: location, deviation: scale)
            case 1: Double(int(0..<6))
            case 2: exp(normal(mean: 0, deviation: scale))
            default: uniform() < 0.1 ? .nan : normal(mean: location, deviation: scale)
            }
        }
    }
}

@Suite("Profile, sketch and distance properties", .computeBound)
struct ProfilePropertyTests {
    @Test("merging profiles equals profiling the concatenation", arguments: 0..<60)
    func mergeEqualsConcatenation(seed: Int) throws {
        var generator = SampleGenerator(seed: UInt64(seed))
        let first = generator.sample(count: generator.int(0..<3_000))
        let second = generator.sample(count: generator.int(1..<3_000))
        let edges = [-1.0, 0, 0.5, 2, 4]
        var a = NumericProfile(edges: edges), b = NumericProfile(edges: edges), whole = NumericProfile(edges: edges)
        a.add(contentsOf: first)
        b.add(contentsOf: second)
        whole.add(contentsOf: first + second)
        let merged = a.merged(with: b)
        #expect(merged.count == whole.count)
        #expect(merged.missingCount == whole.missingCount)
        #expect(merged.histogram == whole.histogram)
        #expect(merged.minimum == whole.minimum && merged.maximum == whole.maximum)
        guard whole.count > 0 else { return }
        #expect(isClose(merged.mean, whole.mean, relative: 1e-12, absolute: 1e-12))
        #expect(isClose(merged.variance!, whole.variance!, relative: 1e-11, absolute: 1e-12))
        // Variance agrees with the two-pass definition on the raw values too.
        let sample = try SortedSample(first + second)
        #expect(isClose(whole.standardDeviation!, sample.standardDeviation, relative: 1e-11, absolute: 1e-12))
        // Quantiles of the merged sketch are within its rank-error bound of the exact ranks.
        for p in stride(from: 0.05, through: 0.95, by: 0.05) {
            let estimate = try #require(merged.sketch.quantile(p))
            let below = Double(sample.countBelow(estimate)) / Double(sample.count)
            let atMost = Double(sample.countNotAbove(estimate)) / Double(sample.count)
            let bound = merged.sketch.rankErrorBound
            #expect(below - bound <= p && p <= atMost + bound, "p=\(p) rank in [\(below), \(atMost)]")
        }
    }

    @Test("a sketch of a million values stays small and within its bound; its encoding round-trips")
    func sketchAtScale() throws {
        var generator = SampleGenerator(seed: 7)
        var sketches: [QuantileSketch] = []
        var values: [Double] = []
        for _ in 0..<10 {
            var sketch = QuantileSketch()
            let part = (0..<100_000).map { _ in generator.normal() }
            sketch.add(contentsOf: part)
            values += part
            sketches.append(sketch)
        }
        var merged = sketches[0]
        for sketch in sketches.dropFirst() { merged.merge(sketch) }
        #expect(merged.count == 1_000_000)
        #expect(merged.retainedCount < 1_000)
        let sorted = try SortedSample(values)
        var worst = 0.0
        for p in stride(from: 0.01, through: 0.99, by: 0.01) {
            let estimate = try #require(merged.quantile(p))
            worst = max(worst, abs(Double(sorted.countNotAbove(estimate)) / 1e6 - p))
        }
        #expect(worst <= merged.rankErrorBound, "worst rank error \(worst)")
        let decoded = try JSONDecoder().decode(QuantileSketch.self, from: JSONEncoder().encode(merged))
        #expect(decoded == merged)
    }

    @Test("profiles serialize and decode to the same profile")
    func profileCoding() throws {
        var generator = SampleGenerator(seed: 3)
        var profile = NumericProfile(edges: [0, 1])
        profile.add(contentsOf: generator.sample(count: 5_000))
        var categories = CategoricalProfile()
        for value in ["a", "b", nil, "a"] { categories.add(value) }
        #expect(try JSONDecoder().decode(NumericProfile.self, from: JSONEncoder().encode(profile)) == profile)
        #expect(try JSONDecoder().decode(CategoricalProfile.self, from: JSONEncoder().encode(categories)) == categories)
    }

    @Test("binned drift on profiles is exact; KS and Wasserstein on sketches are within the stated bound", arguments: 0..<20)
    func driftOnProfiles(seed: Int) throws {
        var generator = SampleGenerator(seed: 1_000 + UInt64(seed))
        let reference = (0..<generator.int(500..<20_000)).map { _ in generator.normal() }
        let shift = generator.uniform()
        let current = (0..<generator.int(500..<20_000)).map { _ in generator.normal(mean: shift) }
        let referenceSample = try SortedSample(reference), currentSample = try SortedSample(current)
        let bins = QuantileBins(reference: referenceSample, binCount: 10)
        var referenceProfile = NumericProfile(edges: bins.edges), currentProfile = NumericProfile(edges: bins.edges)
        referenceProfile.add(contentsOf: reference)
        currentProfile.add(contentsOf: current)
        for method in [DriftMethod.psi, .kl, .jensenShannon, .hellinger] {
            let exact = try NumericDrift.compare(referenceSample, currentSample, method: method)
            let fromProfiles = try ProfileDrift.compare(referenceProfile, currentProfile, method: method)
            #expect(isClose(fromProfiles.score, exact.score, relative: 1e-12), "\(method)")
        }
        for method in [DriftMethod.ks, .wasserstein, .normedWasserstein] {
            let exact = try NumericDrift.compare(referenceSample, currentSample, method: method, options: asymptotic)
            let approximate = try ProfileDrift.compare(referenceProfile, currentProfile, method: method)
            let bound = try #require(approximate.parameters["bound"])
            #expect(abs(approximate.score - exact.score) <= bound, "\(method): \(approximate.score) vs \(exact.score) ± \(bound)")
        }
    }

    @Test("distances are non-negative, symmetric where they should be, and KS lies in [0, 1]", arguments: 0..<40)
    func distanceProperties(seed: Int) throws {
        var generator = SampleGenerator(seed: 5_000 + UInt64(seed))
        let a = try SortedSample(generator.sample(count: generator.int(1..<400)) + [0])
        let b = try SortedSample(generator.sample(count: generator.int(1..<400)) + [1])
        let ks = try NumericDrift.compare(a, b, method: .ks)
        #expect((0...1).contains(ks.score) && (0...1).contains(ks.pValue!))
        #expect(KolmogorovSmirnov.statistic(a, b) == KolmogorovSmirnov.statistic(b, a))
        #expect(isClose(NumericDrift.wasserstein(a, b), NumericDrift.wasserstein(b, a), relative: 1e-12))
        for method in DriftMethod.allCases where method.supportsNumeric {
            #expect(try NumericDrift.compare(a, b, method: method).score >= 0, "\(method)")
        }
        let p = Distribution.proportions((0..<6).map { _ in generator.int(0..<50) } + [1])
        let q = Distribution.proportions((0..<6).map { _ in generator.int(0..<50) } + [1])
        for distance in [Distribution.jensenShannon, Distribution.hellinger, Distribution.totalVariation, Distribution.lInfinity] {
            #expect(distance(p, q) >= 0)
            #expect(isClose(distance(p, q), distance(q, p), relative: 1e-12))
            #expect(distance(p, p) <= 1e-12)
        }
        #expect(Distribution.populationStabilityIndex(p, q, epsilon: 1e-4) >= 0)
        #expect(isClose(Distribution.populationStabilityIndex(p, q, epsilon: 1e-4), Distribution.populationStabilityIndex(q, p, epsilon: 1e-4), relative: 1e-12))
    }

    private var asymptotic: NumericDrift.Options {
        var options = NumericDrift.Options()
        options.ksMode = .asymptotic
        return options
    }
}

@Suite("Sorting large samples", .computeBound)
struct RadixSortTests {
    @Test("the radix sort orders like the standard sort: negatives, zeros, infinities, subnormals, ties", arguments: [1, 2, 3])
    func matchesStandardSort(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        var values = (0..<50_000).map { index -> Double in
            switch index % 7 {
            case 0: generator.normal(mean: 0, deviation: 1e6)
            case 1: -generator.uniform()
            case 2: Double(Int(generator.uniform() * 5))
            case 3: index % 2 == 0 ? .infinity : -.infinity
            case 4: .leastNonzeroMagnitude * Double(Int(generator.uniform() * 10))
            case 5: -0.0
            default: generator.uniform() * 1e-300
            }
        }
        let expected = values.sorted()
        RadixSort.sort(&values)
        #expect(values.count == expected.count)
        #expect(zip(values, expected).allSatisfy { $0 == $1 })
    }

    @Test("values crowded into a few runs of equal top bits (one price band, one repeated value) sort like the standard sort")
    func crowdedValues() {
        var generator = SeededGenerator(seed: 9)
        var values = (0..<300_000).map { index -> Double in
            switch index % 5 {
            case 0, 1: 1 + generator.uniform() / 16
            case 2: 42.5
            case 3: -(1 + generator.uniform() / 16)
            default: generator.normal(mean: 100, deviation: 30)
            }
        }
        let expected = values.sorted()
        RadixSort.sort(&values)
        #expect(values == expected)
    }
}
