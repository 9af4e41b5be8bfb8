/// Adjusting many columns' p-values so a dataset-level decision keeps its error rate.
public enum MultipleTesting {
    /// Benjamini–Hochberg adjusted p-values (false discovery rate), in the input's order,
    /// as `scipy.stats.false_discovery_control(p, method='bh')`.
    public static func benjaminiHochberg(_ pValues: [Double]) -> [Double] {
        let m = pValues.count
        guard m > 0 else { return [] }
        let order = pValues.indices.sorted { pValues[$0] < pValues[$1] }
        var adjusted = [Double](repeating: 0, count: m)
        var running = 1.0
        for rank in stride(from: m, through: 1, by: -1) {
            let index = order[rank - 1]
            running = min(running, pValues[index] * Double(m) / Double(rank))
            adjusted[index] = min(running, 1)
        }
        return adjusted
    }

    /// Bonferroni adjusted p-values: min(1, m·p) (family-wise error rate).
    public static func bonferroni(_ pValues: [Double]) -> [Double] {
        pValues.map { min(1, $0 * Double(pValues.count)) }
    }
}
