import ArgumentParser
import Foundation
import VigilEngine
import VigilStore
import VigilWorkflow

/// `vigil bench monitor`: one monitor pass over a 1M-row window against a 1M-row baseline with
/// 8 features, beside the time PostgreSQL takes to scan the same window's columns to a client.
struct MonitorBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "A monitor pass over one large window against a large baseline, against a plain scan of that window."
    )

    @Option(help: "Rows in the window, and in the baseline.") var rows = 1_000_000

    @Flag(help: "Also run the multivariate tests (data reconstruction and the domain classifier on 1,000 rows a side).")
    var multivariate = false

    @Flag(help: "Also profile and test each of the four regions as a slice (`slices: [region]`), with their own multivariate tests under --multivariate.")
    var slices = false

    @Flag(help: "Give every row a label (agreeing with the prediction four times in five), so the pass also computes the realised metrics.")
    var labels = false

    func run() async throws {
        try await BenchFolder.with(measure)
    }

    private func measure(in folder: URL) async throws {
        let dayOne = Date(timeIntervalSince1970: 1_763_942_400), dayTwo = dayOne.addingTimeInterval(86_400), end = dayTwo.addingTimeInterval(86_400)
        let baselineFile = folder.appendingPathComponent("baseline.csv"), windowFile = folder.appendingPathComponent("window.csv")
        try SyntheticInferences.writeCSV(to: baselineFile, rows: rows, start: dayOne, seconds: 86_400, seed: 1, labelled: labels)
        try SyntheticInferences.writeCSV(to: windowFile, rows: rows, start: dayTwo, seconds: 86_400, seed: 2, shift: 0.3, labelled: labels)
        var figures: [String: Any] = ["benchmark": "monitor", "window_rows": rows, "baseline_rows": rows, "features": 8]
        try await BenchCluster.with { database, logger in
            for file in [baselineFile, windowFile] {
                _ = try await InferenceIngest(database: database).load(
                    try DataRecordReader(path: file.path), options: .init(model: "bench", features: SyntheticInferences.features, actor: "bench")
                )
            }
            try await BenchmarkFloor(database: database).analyzeInferenceLog()
            let data = MonitoredData(
                timestamp: "ts", prediction: "prediction", label: labels ? "label" : nil, score: "score", problemType: .classification, features: SyntheticInferences.features,
                granularity: WorkflowDuration(seconds: 86_400), baseline: .fixed(start: "2025-11-24T00:00:00Z", end: "2025-11-25T00:00:00Z"),
                slices: slices ? ["region"] : []
            )
            var options = WindowMonitor.Options()
            options.lookback = 3 * 86_400
            if multivariate { options.multivariate = MultivariateOptions() }
            let monitor = try WindowMonitor(database: database, workflow: "bench", model: "bench", data: data, options: options, logger: logger)
            // The first pass profiles the baseline (kept in baseline_profiles) and computes day one's window.
            let (firstSeconds, _) = try await Stopwatch.timeAsync { try await monitor.run(now: dayTwo, runID: nil) }
            let scanSeconds = try await timeScan(database, from: dayTwo, to: end)
            let residentBefore = MemorySampler.residentMiB
            let ((passSeconds, summary), passPeak) = try await MemorySampler.peak {
                try await Stopwatch.timeAsync { try await monitor.run(now: end, runID: nil) }
            }
            figures["monitor_pass_resident_before_mib"] = residentBefore
            figures["monitor_pass_peak_resident_mib"] = passPeak
            // What a long-running worker keeps between passes.
            figures["resident_after_pass_mib"] = MemorySampler.residentMiB
            figures["scan_s"] = scanSeconds
            figures["monitor_pass_s"] = passSeconds
            figures["monitor_to_scan"] = passSeconds / scanSeconds
            figures["first_pass_with_baseline_s"] = firstSeconds
            figures["windows_in_pass"] = summary.windows.count
            figures["drifted_features"] = summary.driftedFeatures
            figures["multivariate"] = multivariate
            figures["slices"] = slices ? 4 : 0
            figures["labelled"] = labels
            figures["multivariate_drifted"] = summary.latestMultivariate.filter(\.drifted).map(\.method)
            figures["top_drivers"] = summary.latestDrivers.prefix(3).map(\.feature)
        }
        figures["peak_rss_mib"] = BenchCluster.peakMemoryMiB
        try printBenchmarkLine(figures)
    }

    /// Streams the window's monitored columns to this process, as any client reading them would.
    private func timeScan(_ database: Database, from start: Date, to end: Date) async throws -> Double {
        let (count, seconds) = try await BenchmarkFloor(database: database).timeScan(model: "bench", from: start, to: end, labelled: labels)
        guard count == rows else { throw CommandFailure("the scan read \(count) rows, expected \(rows)") }
        return seconds
    }
}
