import Foundation

/// A small gradient-boosted regression tree ensemble for squared loss: each round fits a tree of
/// at most ``Configuration/leaves`` leaves to the residuals, grown leaf by leaf, on each feature's values put into at
/// most ``Configuration/bins`` quantile bins (as LightGBM and scikit-learn's histogram boosting
/// do), and adds it shrunk by the learning rate. Deterministic: no sampling, ties broken by
/// feature and bin order. Missing values (NaN) go with the lowest bin. Codable, to be stored.
public struct GradientBoostedTrees: Sendable, Codable, Equatable {
    /// How the ensemble is grown.
    public struct Configuration: Sendable, Codable, Equatable {
        public var rounds: Int
        public var learningRate: Double
        public var leaves: Int
        /// Fewest rows a leaf may hold.
        public var minimumLeafRows: Int
        public var bins: Int

        /// 100 rounds at 0.1 of trees of 31 leaves with 20 rows a leaf or more, over 255 bins:
        /// LightGBM's defaults, which NannyML's direct loss estimation uses.
        public static let standard = Configuration(rounds: 100, learningRate: 0.1, leaves: 31, minimumLeafRows: 20, bins: 255)

        public init(rounds: Int, learningRate: Double, leaves: Int, minimumLeafRows: Int, bins: Int) {
            self.rounds = rounds
            self.learningRate = learningRate
            self.leaves = leaves
            self.minimumLeafRows = minimumLeafRows
            self.bins = bins
        }
    }

    /// A tree node: a split (`feature`, go left when the value is below `threshold` or missing)
    /// or, when `feature` is negative, a leaf worth `value`.
    struct Node: Sendable, Codable, Equatable {
        var feature: Int
        var threshold: Double
        var left: Int
        var right: Int
        var value: Double
        /// A split's reduction of squared error (absent in ensembles stored before it was kept).
        var gain: Double? = nil
    }

    let base: Double
    let trees: [[Node]]
    /// How many features a row has.
    public let featureCount: Int

    /// Fits the ensemble on `columns` (one array of values per feature, all as long as
    /// `targets`).
    ///
    /// - Throws: ``StatisticsError`` when there are no rows, the columns differ in length from the
    ///   targets, a target is not finite, or the configuration cannot grow a tree.
    public init(columns: [[Double]], targets: [Double], configuration: Configuration = .standard) throws(StatisticsError) {
        guard !targets.isEmpty else { throw StatisticsError(.emptySample, "no rows to fit on") }
        for column in columns { try StatisticsError.checkPaired(column.count, targets.count) }
        guard targets.allSatisfy(\.isFinite) else { throw StatisticsError(.invalidParameter, "targets must be finite") }
        guard configuration.rounds >= 0, configuration.leaves >= 1, configuration.minimumLeafRows >= 1, (2...256).contains(configuration.bins),
              configuration.learningRate > 0, configuration.learningRate.isFinite
        else { throw StatisticsError(.invalidParameter, "rounds ≥ 0, leaves ≥ 1, leaf rows ≥ 1, 2–256 bins and a positive learning rate") }
        featureCount = columns.count
        let binned = columns.map { BinnedColumn($0, bins: configuration.bins) }
        base = targets.reduce(0, +) / Double(targets.count)
        var fitted = [Double](repeating: base, count: targets.count)
        var trees: [[Node]] = []
        var grower = TreeGrower(columns: binned, configuration: configuration)
        for _ in 0..<configuration.rounds {
            let residuals = zip(targets, fitted).map { $0 - $1 }
            let tree = grower.grow(residuals: residuals)
            for row in targets.indices {
                fitted[row] += Self.leaf(of: tree) { binned[$0].values[row] }
            }
            trees.append(tree)
        }
        self.trees = trees
    }

    /// The prediction for one row, its features in the order fitted.
    public func predict(_ row: [Double]) -> Double {
        var sum = base
        for tree in trees { sum += Self.leaf(of: tree) { row[$0] } }
        return sum
    }

    /// Each feature's total split gain over the ensemble (LightGBM's "gain" importance).
    public var gainImportances: [Double] {
        var importances = [Double](repeating: 0, count: featureCount)
        for tree in trees { for node in tree where node.feature >= 0 { importances[node.feature] += node.gain ?? 0 } }
        return importances
    }

    /// The value of the leaf a row reaches, reading its features through `value`.
    private static func leaf(of tree: [Node], value: (Int) -> Double) -> Double {
        var node = tree[0]
        while node.feature >= 0 {
            let x = value(node.feature)
            node = tree[x < node.threshold || x.isNaN ? node.left : node.right]
        }
        return node.value
    }
}

/// A feature's values with the bin each falls in: bin `b` holds values below `cuts[b]` and at or
/// above `cuts[b - 1]`; missing values are in bin 0.
private struct BinnedColumn {
    let values: [Double]
    let cuts: [Double]
    let bins: [UInt8]

    init(_ values: [Double], bins count: Int) {
        self.values = values
        let sorted = values.filter { !$0.isNaN }.sorted()
        var cuts: [Double] = []
        if let first = sorted.first, let last = sorted.last, first < last {
            for step in 1..<count {
                let upper = sorted[min(sorted.count - 1, step * sorted.count / count)]
                let index = sorted.upperBound(upper.nextDown)  // values below `upper`
                guard index > 0 else { continue }
                let cut = (sorted[index - 1] + upper) / 2
                if cut > (cuts.last ?? -.infinity), cut > first { cuts.append(cut) }
            }
        }
        self.cuts = cuts
        bins = values.map { value in value.isNaN ? 0 : UInt8(cuts.upperBound(value)) }
    }
}

/// Grows one tree on the residuals, choosing each node's split by the largest reduction of
/// squared error over its features' bins.
private struct TreeGrower {
    typealias Split = (feature: Int, bin: Int, gain: Double)

    let columns: [BinnedColumn]
    let configuration: GradientBoostedTrees.Configuration
    private var sums: [Double]
    private var counts: [Int]

    init(columns: [BinnedColumn], configuration: GradientBoostedTrees.Configuration) {
        self.columns = columns
        self.configuration = configuration
        sums = [Double](repeating: 0, count: configuration.bins)
        counts = [Int](repeating: 0, count: configuration.bins)
    }

    /// Grows leaf by leaf, as LightGBM does: the leaf whose best split gains most is split
    /// next, until the tree has ``GradientBoostedTrees/Configuration/leaves`` leaves or no
    /// split gains anything.
    mutating func grow(residuals: [Double]) -> [GradientBoostedTrees.Node] {
        var nodes = [leaf(residuals, Array(residuals.indices))]
        var candidates: [(node: Int, rows: [Int], split: Split)] = []
        func consider(_ node: Int, _ rows: [Int]) {
            if rows.count >= 2 * configuration.minimumLeafRows, let split = bestSplit(residuals, rows) { candidates.append((node, rows, split)) }
        }
        consider(0, Array(residuals.indices))
        var leaves = 1
        while leaves < configuration.leaves, let best = candidates.indices.max(by: { candidates[$0].split.gain < candidates[$1].split.gain }) {
            let (node, rows, split) = candidates.remove(at: best)
            let bins = columns[split.feature].bins
            let left = rows.filter { Int(bins[$0]) <= split.bin }
            let right = rows.filter { Int(bins[$0]) > split.bin }
            nodes[node].feature = split.feature
            nodes[node].gain = split.gain
            nodes[node].threshold = columns[split.feature].cuts[split.bin]
            nodes[node].left = nodes.count
            nodes.append(leaf(residuals, left))
            nodes[node].right = nodes.count
            nodes.append(leaf(residuals, right))
            leaves += 1
            consider(nodes[node].left, left)
            consider(nodes[node].right, right)
        }
        return nodes
    }

    private func leaf(_ residuals: [Double], _ rows: [Int]) -> GradientBoostedTrees.Node {
        let mean = rows.isEmpty ? 0 : rows.reduce(0) { $0 + residuals[$1] } / Double(rows.count)
        return .init(feature: -1, threshold: 0, left: 0, right: 0, value: configuration.learningRate * mean)
    }

    /// The split with the largest gain Σ²ₗ/nₗ + Σ²ᵣ/nᵣ − Σ²/n, leaving each side enough rows.
    private mutating func bestSplit(_ residuals: [Double], _ rows: [Int]) -> Split? {
        let total = rows.reduce(0) { $0 + residuals[$1] }
        let n = rows.count
        let parent = total * total / Double(n)
        var best: Split?
        for (feature, column) in columns.enumerated() where !column.cuts.isEmpty {
            for bin in 0...column.cuts.count {
                sums[bin] = 0
                counts[bin] = 0
            }
            for row in rows {
                let bin = Int(column.bins[row])
                sums[bin] += residuals[row]
                counts[bin] += 1
            }
            var leftSum = 0.0, leftCount = 0
            for bin in 0..<column.cuts.count {
                leftSum += sums[bin]
                leftCount += counts[bin]
                let rightCount = n - leftCount
                guard leftCount >= configuration.minimumLeafRows else { continue }
                guard rightCount >= configuration.minimumLeafRows else { break }
                let rightSum = total - leftSum
                let gain = leftSum * leftSum / Double(leftCount) + rightSum * rightSum / Double(rightCount) - parent
                if gain > (best?.gain ?? 1e-12) { best = (feature, bin, gain) }
            }
        }
        return best
    }
}
