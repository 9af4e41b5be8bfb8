/// Permutation importance (Breiman, 2001; Fisher, Rudin and Dominici's "model reliance", 2019):
/// how much a model's loss grows when one feature's values are shuffled among the rows, which
/// breaks the feature's link with the target and with the other features while keeping its own
/// distribution.
///
/// The model is not called from here: a plan lists the row orders to score (for each feature and
/// repeat, a seeded permutation of the rows), the caller scores every permuted copy at once (in
/// process, or by one run of a scoring program) and hands back the losses.
public struct PermutationImportance: Sendable, Equatable {
    public let features: Int
    public let rows: Int
    public let repeats: Int
    /// Row orders, feature after feature, `repeats` for each: the permuted copy `copy` takes
    /// feature `copy / repeats` of row `orders[copy][row]`, and every other feature of `row`.
    public let orders: [[Int]]

    /// Draws `repeats` permutations of `rows` rows for each of `features` features, by `seed`.
    public init(features: Int, rows: Int, repeats: Int, seed: UInt64) {
        self.features = max(0, features)
        self.rows = max(0, rows)
        self.repeats = max(1, repeats)
        var generator = SeededGenerator(seed: seed)
        var orders: [[Int]] = []
        orders.reserveCapacity(self.features * self.repeats)
        for _ in 0..<(self.features * self.repeats) {
            var order = Array(0..<self.rows)
            for index in order.indices.dropLast().reversed() {
                order.swapAt(index + 1, Int(generator.next() % UInt64(index + 2)))
            }
            orders.append(order)
        }
        self.orders = orders
    }

    /// The feature a permuted copy shuffles.
    public func feature(ofCopy copy: Int) -> Int { copy / repeats }

    /// Each feature's importance: the mean over its repeats of the permuted copy's loss minus
    /// `baseLoss`. `permutedLosses` holds one loss per copy, in the order of ``orders``.
    public func importances(baseLoss: Double, permutedLosses: [Double]) -> [Double] {
        (0..<features).map { feature in
            let losses = permutedLosses[(feature * repeats)..<min(permutedLosses.count, (feature + 1) * repeats)]
            return losses.isEmpty ? 0 : losses.reduce(0) { $0 + ($1 - baseLoss) } / Double(losses.count)
        }
    }

    /// The loss of `predictions` against `targets`, row by row: the share of rows that differ for
    /// a classifier; for a regressor, the mean squared difference of the numbers (rows where either
    /// is not a number are left out). Against the model's own unpermuted answers, it measures
    /// how much its answers move, which needs no labels.
    public static func loss(_ predictions: [String], _ targets: [String], numeric: Bool) -> Double {
        let count = min(predictions.count, targets.count)
        guard count > 0 else { return 0 }
        guard numeric else {
            var differing = 0
            for row in 0..<count where predictions[row] != targets[row] { differing += 1 }
            return Double(differing) / Double(count)
        }
        var total = 0.0, used = 0
        for row in 0..<count {
            guard let predicted = Double(predictions[row]), let target = Double(targets[row]), predicted.isFinite, target.isFinite else { continue }
            total += (predicted - target) * (predicted - target)
            used += 1
        }
        return used > 0 ? total / Double(used) : 0
    }

    /// Each feature's share of how far the importances moved between `reference` and `current`
    /// (`|current − reference|` over the sum for all features); all zero when none moved.
    public static func changeShares(reference: [Double], current: [Double]) -> [Double] {
        let changes = zip(reference, current).map { abs($1 - $0) }
        let total = changes.reduce(0, +)
        return changes.map { total > 0 && total.isFinite ? $0 / total : 0 }
    }
}
