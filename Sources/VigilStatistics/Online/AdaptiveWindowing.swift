import Foundation

/// ADWIN, adaptive windowing (Bifet & Gavaldà, 2007), as `river.drift.ADWIN`.
///
/// Keeps a window of recent values in exponential-histogram buckets and, every `clock` values,
/// checks every split of the window into an older and a newer part; when their means differ by
/// more than the Hoeffding-style bound ε_cut for confidence `delta`, it drops the older values and
/// signals a change. Variances follow Babcock et al. (2003).
public struct AdaptiveWindowing: ConceptDriftDetector, Codable {
    public struct Parameters: Sendable, Equatable, Codable {
        /// Confidence of the cut test; smaller means fewer, surer detections.
        public var delta = 0.002
        /// How often (in values) the window is checked for a cut.
        public var clock = 32
        /// Buckets of each size kept before two are merged.
        public var maximumBuckets = 5
        /// The smallest sub-window a cut may leave on either side.
        public var minimumWindowLength = 5
        /// Values seen before the window is first checked.
        public var gracePeriod = 10

        public init() {}
    }

    /// One row of the exponential histogram: up to `maximumBuckets + 1` buckets of 2^row values.
    private struct BucketRow: Sendable, Codable {
        var totals: [Double]
        var variances: [Double]
        var count = 0

        init(capacity: Int) {
            totals = [Double](repeating: 0, count: capacity)
            variances = [Double](repeating: 0, count: capacity)
        }

        mutating func append(total: Double, variance: Double) {
            totals[count] = total
            variances[count] = variance
            count += 1
        }

        /// Drops the `n` oldest buckets.
        mutating func removeFirst(_ n: Int) {
            for index in n..<totals.count {
                totals[index - n] = totals[index]
                variances[index - n] = variances[index]
            }
            for index in (totals.count - n)..<totals.count {
                totals[index] = 0
                variances[index] = 0
            }
            count -= n
        }
    }

    public let parameters: Parameters
    private var rows: [BucketRow]
    /// The number of values in the window.
    public private(set) var width = 0.0
    private var total = 0.0
    private var variance = 0.0
    private var tick = 0
    private var detected = false

    public init(_ parameters: Parameters = Parameters()) {
        self.parameters = parameters
        rows = [BucketRow(capacity: parameters.maximumBuckets + 1)]
    }

    /// The mean of the values in the window.
    public var mean: Double { width > 0 ? total / width : 0 }

    public mutating func update(_ value: Double) -> Bool {
        if detected { self = AdaptiveWindowing(parameters) }
        insert(value)
        detected = detectChange()
        return detected
    }

    private mutating func insert(_ value: Double) {
        rows[0].append(total: value, variance: 0)
        width += 1
        if width > 1 {
            let deviation = value - total / (width - 1)
            variance += (width - 1) * deviation * deviation / width
        }
        total += value
        compress()
    }

    private static func bucketSize(_ row: Int) -> Double { pow(2, Double(row)) }

    private mutating func compress() {
        var row = 0
        while row < rows.count, rows[row].count == parameters.maximumBuckets + 1 {
            if row + 1 == rows.count { rows.append(BucketRow(capacity: parameters.maximumBuckets + 1)) }
            let size = Self.bucketSize(row)
            let first = rows[row].totals[0], second = rows[row].totals[1]
            let meanDifference = first / size - second / size
            let mergedVariance = rows[row].variances[0] + rows[row].variances[1]
                + size * 0.5 * meanDifference * meanDifference
            rows[row + 1].append(total: first + second, variance: mergedVariance)
            rows[row].removeFirst(2)
            if rows[row + 1].count <= parameters.maximumBuckets { break }
            row += 1
        }
    }

    /// Removes the oldest bucket.
    private mutating func deleteOldest() {
        let last = rows.count - 1
        let n = Self.bucketSize(last)
        let u = rows[last].totals[0]
        let v = rows[last].variances[0]
        width -= n
        total -= u
        let bucketMean = u / n, windowMean = total / width
        variance -= v + n * width * (bucketMean - windowMean) * (bucketMean - windowMean) / (n + width)
        rows[last].removeFirst(1)
        if rows[last].count == 0 { rows.removeLast() }
    }

    private mutating func detectChange() -> Bool {
        var changed = false
        tick += 1
        guard tick % parameters.clock == 0, width > Double(parameters.gracePeriod) else { return false }
        var reduce = true
        while reduce {
            reduce = false
            var done = false
            var n0 = 0.0, n1 = width, u0 = 0.0, u1 = total
            var row = rows.count - 1
            while row >= 0 && !done {
                let size = Self.bucketSize(row)
                let bucketCount = rows[row].count
                for k in 0..<bucketCount {
                    let bucketTotal = rows[row].totals[k]
                    n0 += size
                    n1 -= size
                    u0 += bucketTotal
                    u1 -= bucketTotal
                    // The newest value alone is never a cut's newer side.
                    if row == 0 && k == bucketCount - 1 {
                        done = true
                        break
                    }
                    let meanDifference = u0 / n0 - u1 / n1
                    if n1 >= Double(parameters.minimumWindowLength), n0 >= Double(parameters.minimumWindowLength),
                       isCut(n0: n0, n1: n1, meanDifference: meanDifference) {
                        reduce = true
                        changed = true
                        if width > 0 {
                            deleteOldest()
                            done = true
                            break
                        }
                    }
                }
                row -= 1
            }
        }
        return changed
    }

    private func isCut(n0: Double, n1: Double, meanDifference: Double) -> Bool {
        let deltaPrime = log(2 * log(width) / parameters.delta)
        let minimum = Double(parameters.minimumWindowLength)
        let reciprocal = 1 / (n0 - minimum + 1) + 1 / (n1 - minimum + 1)
        let epsilon = (2 * reciprocal * (variance / width) * deltaPrime).squareRoot() + 2.0 / 3.0 * deltaPrime * reciprocal
        return abs(meanDifference) > epsilon
    }
}
