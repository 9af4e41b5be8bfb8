import Testing
@testable import VigilStatistics
import VigilTesting

@Suite("Drift methods against SciPy", .computeBound)
struct DriftReferenceTests {
    static let numeric = Array(DriftFixtures.shared.numeric.enumerated())
    static let categorical = Array(DriftFixtures.shared.categorical.enumerated())

    @Test("numeric methods", arguments: numeric)
    func numericCase(index: Int, fixture: DriftFixtures.Numeric) throws {
        let reference = try SortedSample(fixture.reference)
        let current = try SortedSample(fixture.current)
        let ks = try NumericDrift.compare(reference, current, method: .ks)
        #expect(isClose(ks.score, fixture.ks.statistic), "case \(index) KS statistic")
        #expect(isClose(ks.pValue ?? -1, fixture.ks.pvalue, relative: 1e-6, absolute: 1e-6), "case \(index) KS p \(ks.pValue ?? -1) vs \(fixture.ks.pvalue)")
        let scores: [(DriftMethod, Double)] = [
            (.wasserstein, fixture.wasserstein), (.normedWasserstein, fixture.wasserstein_normed),
            (.psi, fixture.psi), (.kl, fixture.kl), (.jensenShannon, fixture.js), (.hellinger, fixture.hellinger),
        ]
        for (method, expected) in scores {
            let result = try NumericDrift.compare(reference, current, method: method)
            #expect(isClose(result.score, expected), "case \(index) \(method): \(result.score) vs \(expected)")
        }
        let psi = try NumericDrift.compare(reference, current, method: .psi)
        #expect(psi.binEdges == fixture.edges)

        // Missing values (NaN) are left out and counted: the same numbers as SciPy on the clean data.
        var withMissing = fixture.current
        withMissing.insert(.nan, at: withMissing.count / 2)
        withMissing.append(.nan)
        let omitted = try NumericDrift.compare(reference, SortedSample(withMissing), method: .ks)
        #expect(omitted.score == ks.score && omitted.pValue == ks.pValue && omitted.currentMissing == 2)
    }

    @Test("empty and all-missing samples are typed errors, never NaN results")
    func emptySamples() throws {
        #expect { try SortedSample([Double]()) } throws: { ($0 as? StatisticsError)?.code == .emptySample }
        #expect { try SortedSample([.nan, .nan]) } throws: { ($0 as? StatisticsError)?.code == .allMissing }
        let some = CategoryCounts(["a", "b"])
        #expect { try CategoricalDrift.compare(some, CategoryCounts([nil, nil]), method: .chiSquare) } throws: {
            ($0 as? StatisticsError)?.code == .allMissing
        }
        #expect { try CategoricalDrift.compare(CategoryCounts([String?]()), some, method: .psi) } throws: {
            ($0 as? StatisticsError)?.code == .emptySample
        }
    }

    @Test("categorical methods", arguments: categorical)
    func categoricalCase(index: Int, fixture: DriftFixtures.Categorical) throws {
        let reference = CategoryCounts(fixture.reference.map(Optional.some))
        let current = CategoryCounts(fixture.current.map(Optional.some))
        let chi = try CategoricalDrift.compare(reference, current, method: .chiSquare)
        #expect(isClose(chi.score, fixture.chisquare.statistic), "case \(index) chi2")
        #expect(isClose(chi.pValue ?? -1, fixture.chisquare.pvalue, relative: 1e-6, absolute: 1e-6), "case \(index) chi2 p")
        #expect(chi.unseenCategories == fixture.unseen)
        if let z = fixture.z {
            let result = try CategoricalDrift.compare(reference, current, method: .zTest)
            #expect(isClose(result.score, z.statistic), "case \(index) z")
            #expect(isClose(result.pValue ?? -1, z.pvalue, relative: 1e-6, absolute: 1e-6), "case \(index) z p")
        }
        let scores: [(DriftMethod, Double)] = [
            (.psi, fixture.psi), (.kl, fixture.kl), (.jensenShannon, fixture.js), (.hellinger, fixture.hellinger),
            (.totalVariation, fixture.tv), (.lInfinity, fixture.linf),
        ]
        for (method, expected) in scores {
            let result = try CategoricalDrift.compare(reference, current, method: method)
            #expect(isClose(result.score, expected), "case \(index) \(method): \(result.score) vs \(expected)")
        }
    }

    @Test("Benjamini–Hochberg and Bonferroni adjustments")
    func adjustments() {
        for fixture in DriftFixtures.shared.multiple_testing {
            let bh = MultipleTesting.benjaminiHochberg(fixture.p)
            let bonferroni = MultipleTesting.bonferroni(fixture.p)
            for index in fixture.p.indices {
                #expect(isClose(bh[index], fixture.bh[index]))
                #expect(isClose(bonferroni[index], fixture.bonferroni[index]))
            }
        }
    }
}
