import Foundation
import Testing

/// Reference numbers computed by SciPy and NumPy (`Fixtures/make_drift_fixtures.py`).
struct DriftFixtures: Decodable {
    struct TestValue: Decodable {
        let statistic: Double
        let pvalue: Double
    }

    struct Numeric: Decodable {
        let reference: [Double]
        let current: [Double]
        let ks: TestValue
        let wasserstein: Double
        let wasserstein_normed: Double
        let edges: [Double]
        let psi: Double
        let kl: Double
        let js: Double
        let hellinger: Double
    }

    struct Categorical: Decodable {
        let reference: [String]
        let current: [String]
        let unseen: [String]
        let psi: Double
        let kl: Double
        let js: Double
        let hellinger: Double
        let tv: Double
        let linf: Double
        let chisquare: TestValue
        let z: TestValue?
    }

    struct Adjustment: Decodable {
        let p: [Double]
        let bh: [Double]
        let bonferroni: [Double]
    }

    let numeric: [Numeric]
    let categorical: [Categorical]
    let multiple_testing: [Adjustment]

    static let shared: DriftFixtures = loadFixture("drift_cases.json")
}

/// Decodes a committed fixture from `Fixtures/`.
func loadFixture<Fixture: Decodable>(_ name: String) -> Fixture {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
    // The fixture is committed; failing to read it is a broken checkout, not a test outcome.
    return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
}

/// The mean absolute difference of estimates from the truth, pair by pair.
func meanAbsoluteError(_ estimates: [Double], _ truth: [Double]) -> Double {
    zip(estimates, truth).map { abs($0 - $1) }.reduce(0, +) / Double(truth.count)
}

/// Whether `actual` matches `expected` within a relative tolerance (absolute near zero).
func isClose(_ actual: Double, _ expected: Double, relative: Double = 1e-9, absolute: Double = 1e-12) -> Bool {
    if actual == expected { return true }
    return abs(actual - expected) <= max(absolute, relative * max(abs(actual), abs(expected)))
}
