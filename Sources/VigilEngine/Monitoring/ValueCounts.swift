extension Sequence where Element == String? {
    /// How many times each present value occurs. A window's predictions and variants share a few
    /// strings and come in runs, so a run of equal values is counted once rather than hashing
    /// every row.
    func valueCounts() -> [String: Int] {
        var counts: [String: Int] = [:]
        var current: String?, run = 0
        for value in self {
            if value == current {
                run += 1
                continue
            }
            if let current { counts[current, default: 0] += run }
            current = value
            run = 1
        }
        if let current { counts[current, default: 0] += run }
        return counts
    }
}
