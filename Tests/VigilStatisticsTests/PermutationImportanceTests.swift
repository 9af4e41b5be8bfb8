import Testing
import VigilStatistics
import VigilTesting

@Suite("Permutation importance", .computeBound)
struct PermutationImportanceTests {
    /// `rows` rows of two standard normal features.
    static func rows(_ count: Int, seed: UInt64) -> [[Double]] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in [generator.normal(), generator.normal()] }
    }

    /// The answers of a model that reads only the first feature's sign, on every copy of the plan.
    static func losses(_ plan: PermutationImportance, rows: [[Double]], targets: [String]) -> (base: Double, permuted: [Double]) {
        let predict = { (row: [Double]) in row[0] > 0 ? "1" : "0" }
        let base = PermutationImportance.loss(rows.map(predict), targets, numeric: false)
        let permuted = plan.orders.indices.map { copy in
            let feature = plan.feature(ofCopy: copy), order = plan.orders[copy]
            let answers = rows.indices.map { row in
                var values = rows[row]
                values[feature] = rows[order[row]][feature]
                return predict(values)
            }
            return PermutationImportance.loss(answers, targets, numeric: false)
        }
        return (base, permuted)
    }

    @Test("a model of the first feature's sign: shuffling it costs half the answers, shuffling the other costs nothing")
    func signModel() {
        let rows = Self.rows(4_000, seed: 3)
        let labels = rows.map { $0[0] > 0 ? "1" : "0" }
        let plan = PermutationImportance(features: 2, rows: rows.count, repeats: 5, seed: 11)
        #expect(plan.orders.count == 10 && plan.orders.allSatisfy { $0.sorted() == Array(0..<4_000) })
        #expect(plan.orders[0] != plan.orders[1], "each repeat draws its own order")
        let (base, permuted) = Self.losses(plan, rows: rows, targets: labels)
        #expect(base == 0)
        let importances = plan.importances(baseLoss: base, permutedLosses: permuted)
        #expect(abs(importances[0] - 0.5) < 0.03, "\(importances)")
        #expect(importances[1] == 0)
        #expect(importances[0] == permuted.prefix(5).reduce(0, +) / 5)
        #expect(PermutationImportance(features: 2, rows: rows.count, repeats: 5, seed: 11) == plan, "the same seed draws the same orders")
    }

    @Test("losses: error rate of a classifier, squared error of a regressor over the rows where both are numbers")
    func losses() {
        #expect(PermutationImportance.loss(["a", "b", "a", "a"], ["a", "a", "a", "b"], numeric: false) == 0.5)
        #expect(PermutationImportance.loss(["1", "3", "x"], ["2", "1", "4"], numeric: true) == 2.5)
        #expect(PermutationImportance.loss([], [], numeric: false) == 0)
    }

    @Test("change shares: each feature's share of how far the importances moved, all zero when none did")
    func changeShares() {
        let shares = PermutationImportance.changeShares(reference: [0.4, 0.1, 0], current: [0.1, 0.2, 0])
        #expect(zip(shares, [0.75, 0.25, 0]).allSatisfy { abs($0 - $1) < 1e-12 }, "\(shares)")
        #expect(PermutationImportance.changeShares(reference: [0.2, 0.1], current: [0.2, 0.1]) == [0, 0])
    }

    @Test("drivers with the champion's importances: the share is the mean of the three views")
    func threeViews() {
        let drivers = DriftDrivers.rank(
            classifierShares: ["a": 0.5, "b": 0.5], driftScores: ["a": (0.2, 0.1), "b": (0.2, 0.1)],
            importances: .init(reference: ["a": 0.3, "b": 0.1], current: ["a": 0.0, "b": 0.1])
        )
        #expect(drivers.map(\.feature) == ["a", "b"])
        #expect(drivers[0].share == (0.5 + 0.5 + 1) / 3 && drivers[1].share == (0.5 + 0.5 + 0) / 3)
        #expect(drivers[0].referenceImportance == 0.3 && drivers[0].currentImportance == 0 && drivers[0].importanceShare == 1)
    }
}
