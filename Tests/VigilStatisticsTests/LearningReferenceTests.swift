import Foundation
import Testing
@testable import VigilStatistics
import VigilTesting

/// Reference numbers from scikit-learn and SciPy (`Fixtures/make_learning_fixtures.py`).
struct LearningFixtures: Decodable {
    struct Logistic: Decodable {
        let rows: [[String: Cell]]
        let labels: [Double]
        let l2: Double
        let probabilities: [Double]
    }

    struct Linear: Decodable {
        let rows: [[String: Cell]]
        let targets: [Double]
        let l2: Double
        let predictions: [Double]
    }

    struct McNemar: Decodable {
        let b: Int
        let c: Int
        let pvalue: Double
    }

    struct PairedT: Decodable {
        let differences: [Double]
        let t: Double
        let pvalue: Double
    }

    /// A JSON number or string as a feature value.
    struct Cell: Decodable {
        let value: FeatureValue

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Double.self) { value = .number(number) } else { value = .text(try container.decode(String.self)) }
        }
    }

    let logistic: [Logistic]
    let linear: [Linear]
    let mcnemar: [McNemar]
    let paired_t: [PairedT]

    static let shared: LearningFixtures = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/learning_cases.json")
        return try! JSONDecoder().decode(LearningFixtures.self, from: Data(contentsOf: url))
    }()
}

@Suite("Built-in models and paired tests against scikit-learn and SciPy", .computeBound)
struct LearningReferenceTests {
    @Test("logistic regression gives scikit-learn's probabilities", arguments: 0..<4)
    func logistic(_ index: Int) throws {
        let fixture = LearningFixtures.shared.logistic[index]
        let rows = fixture.rows.map { $0.mapValues(\.value) }
        let model = try LinearModel.logistic(rows: rows, labels: fixture.labels, l2: fixture.l2)
        for (row, expected) in zip(rows, fixture.probabilities) {
            #expect(abs(model.predict(row) - expected) < 1e-6)
        }
    }

    @Test("ridge regression gives scikit-learn's predictions", arguments: 0..<4)
    func linear(_ index: Int) throws {
        let fixture = LearningFixtures.shared.linear[index]
        let rows = fixture.rows.map { $0.mapValues(\.value) }
        let model = try LinearModel.linear(rows: rows, targets: fixture.targets, l2: fixture.l2)
        for (row, expected) in zip(rows, fixture.predictions) {
            #expect(abs(model.predict(row) - expected) < 1e-8 * max(1, abs(expected)))
        }
    }

    @Test("McNemar's exact test gives SciPy's binomtest p-values")
    func mcNemar() throws {
        for case_ in LearningFixtures.shared.mcnemar {
            let first = Array(repeating: true, count: case_.b) + Array(repeating: false, count: case_.c) + [true, false]
            let second = Array(repeating: false, count: case_.b) + Array(repeating: true, count: case_.c) + [true, false]
            let result = try PairedComparison.mcNemar(firstCorrect: first, secondCorrect: second)
            #expect(result.b == case_.b && result.c == case_.c)
            #expect(abs(result.pValue - case_.pvalue) <= 1e-10 * max(1e-300, case_.pvalue) + 1e-14, "b=\(case_.b) c=\(case_.c): \(result.pValue) vs \(case_.pvalue)")
        }
    }

    @Test("the paired t-test gives SciPy's ttest_rel")
    func pairedT() throws {
        for case_ in LearningFixtures.shared.paired_t {
            let result = try PairedComparison.pairedT(differences: case_.differences)
            #expect(abs(result.t - case_.t) < 1e-9 * max(1, abs(case_.t)))
            #expect(abs(result.pValue - case_.pvalue) < 1e-9 * max(1e-12, case_.pvalue) + 1e-15, "\(result.pValue) vs \(case_.pvalue)")
        }
    }

    @Test("the bootstrap interval is seeded, ordered, and covers a known difference")
    func bootstrap() throws {
        var generator = SeededGenerator(seed: 9)
        let differences = (0..<400).map { _ in 0.3 + generator.normal() }
        let statistic: ([Int]) -> Double = { indices in indices.reduce(0) { $0 + differences[$1] } / Double(indices.count) }
        let first = try PairedComparison.bootstrapInterval(count: differences.count, seed: 4, statistic: statistic)
        let second = try PairedComparison.bootstrapInterval(count: differences.count, seed: 4, statistic: statistic)
        #expect(first == second)
        let mean = differences.reduce(0, +) / 400
        #expect(first.low < mean && mean < first.high)
        // About ±1.96 standard errors (σ ≈ 1, n = 400: ±0.098).
        #expect(abs((first.high - first.low) / 2 - 0.098) < 0.02)
    }
}
