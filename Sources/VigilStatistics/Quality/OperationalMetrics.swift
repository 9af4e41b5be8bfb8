/// Serving health over a window: latency percentiles, error rate and throughput.
public struct OperationalMetrics: Sendable, Equatable, Codable {
    public let requests: Int
    public let errors: Int
    /// Latency percentiles with linear interpolation (`numpy.percentile`); `nil` with no latencies.
    public let latencyP50: Double?
    public let latencyP95: Double?
    public let latencyP99: Double?
    /// Share of requests that failed.
    public let errorRate: Double
    /// Requests per second over the window.
    public let throughput: Double

    /// - Parameters:
    ///   - latencies: one per request that has one; NaN counts as missing.
    ///   - errors: how many requests failed.
    ///   - requests: how many requests the window holds.
    ///   - windowSeconds: the window's length.
    /// - Throws: ``StatisticsError`` `.invalidParameter` for a non-positive window or more errors than requests.
    public init(latencies: [Double], errors: Int, requests: Int, windowSeconds: Double) throws(StatisticsError) {
        guard windowSeconds > 0, errors >= 0, requests >= errors else {
            throw StatisticsError(.invalidParameter, "need a positive window and 0 ≤ errors ≤ requests")
        }
        let sorted = try? SortedSample(latencies)
        self.requests = requests
        self.errors = errors
        latencyP50 = sorted?.quantile(0.50)
        latencyP95 = sorted?.quantile(0.95)
        latencyP99 = sorted?.quantile(0.99)
        errorRate = requests > 0 ? Double(errors) / Double(requests) : 0
        throughput = Double(requests) / windowSeconds
    }
}
