import ArgumentParser
import Foundation
import VigilEngine
import VigilStore
import VigilWorkflow

/// `vigil bench scale`: the inference log grown day by day to `--rows` rows, measuring after each
/// day its ingest rate, a monitor pass over that day against a bare scan of it, and the storage
/// per row of the log and of the requests' idempotency records, to show whether they stay flat as
/// history accumulates.
struct ScaleBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Grow the inference log day by day (100M rows by default) and measure ingest, a monitor pass and storage per row as it grows.",
        discussion: "Shorten it with --rows (for example --rows 20000000 --rows-per-day 2000000); figures are one JSON line with a list per measure, one entry per day."
    )

    @Option(help: "Rows in the log at the end.") var rows = 100_000_000
    @Option(help: "Rows logged per day (one day partition, one window).") var rowsPerDay = 10_000_000
    @Flag(help: "At the end, let retention export the first day to Parquet and drop it (as vigil serve --retention-archive does), and measure that pass.")
    var archive = false

    func validate() throws {
        guard rowsPerDay >= 1_000, rows >= 2 * rowsPerDay else {
            throw ValidationError("--rows-per-day must be at least 1,000 and --rows at least two days' worth")
        }
    }

    func run() async throws {
        try await BenchFolder.with(measure)
    }

    private func measure(in folder: URL) async throws {
        let first = Date(timeIntervalSince1970: 1_763_942_400), days = rows / rowsPerDay
        let file = folder.appendingPathComponent("day.csv")
        var growth: [String: [Double]] = [:]
        var archived: [String: Double] = [:]
        func record(_ name: String, _ value: Double) { growth[name, default: []].append(value) }
        try await BenchCluster.with { database, logger in
            let floor = BenchmarkFloor(database: database)
            let data = MonitoredData(
                timestamp: "ts", prediction: "prediction", score: "score", problemType: .classification, features: SyntheticInferences.features,
                granularity: WorkflowDuration(seconds: 86_400),
                baseline: .fixed(start: ISO8601DateFormatter().string(from: first), end: ISO8601DateFormatter().string(from: first.addingTimeInterval(86_400)))
            )
            var options = WindowMonitor.Options()
            options.lookback = 2 * 86_400
            let monitor = try WindowMonitor(database: database, workflow: "bench", model: "bench", data: data, options: options, logger: logger)
            for day in 0 ..< days {
                let start = first.addingTimeInterval(Double(day) * 86_400), end = start.addingTimeInterval(86_400)
                try SyntheticInferences.writeCSV(to: file, rows: rowsPerDay, start: start, seconds: 86_400, seed: UInt64(day + 1), shift: day == 0 ? 0 : 0.05)
                let report = try await InferenceIngest(database: database).load(
                    try DataRecordReader(path: file.path), options: .init(model: "bench", features: SyntheticInferences.features, actor: "bench")
                )
                try await floor.vacuumAnalyzeDay(of: start)
                record("rows_in_log", Double((day + 1) * rowsPerDay))
                record("ingest_rows_per_s", Double(report.rowsLoaded) / report.seconds)
                record("bytes_per_row", Double(try await floor.inferenceLogBytes()) / Double((day + 1) * rowsPerDay))
                record("claim_bytes_per_row", Double(try await floor.requestClaimBytes()) / Double((day + 1) * rowsPerDay))
                // Day 0 is the baseline, profiled by its first pass; each later day is one window.
                guard day > 0 else {
                    _ = try await monitor.run(now: end, runID: nil)
                    continue
                }
                let (scanRows, scanSeconds) = try await floor.timeScan(model: "bench", from: start, to: end)
                guard scanRows == rowsPerDay else { throw CommandFailure("the scan of day \(day) read \(scanRows) rows, expected \(rowsPerDay)") }
                let before = MemorySampler.residentMiB
                let ((passSeconds, summary), peak) = try await MemorySampler.peak {
                    try await Stopwatch.timeAsync { try await monitor.run(now: end, runID: nil) }
                }
                guard summary.windows.count == 1 else { throw CommandFailure("the pass after day \(day) computed \(summary.windows.count) windows, expected 1") }
                record("scan_s", scanSeconds)
                record("monitor_pass_s", passSeconds)
                record("monitor_to_scan", passSeconds / scanSeconds)
                record("monitor_pass_resident_before_mib", before)
                record("monitor_pass_peak_resident_mib", peak)
                record("monitor_pass_resident_after_mib", MemorySampler.residentMiB)
            }
            if archive {
                // Only day 0 has outlived a retention of all days but one at the end of the last.
                let end = first.addingTimeInterval(Double(days) * 86_400), folder = folder.appendingPathComponent("archive")
                let before = MemorySampler.residentMiB
                let ((seconds, report), peak) = try await MemorySampler.peak {
                    try await Stopwatch.timeAsync {
                        try await InferenceRetention(database: database).apply(
                            retention: ["bench": Double(days - 1) * 86_400], defaultRetention: nil, archive: InferenceArchive(directory: folder), actor: "bench", now: end
                        )
                    }
                }
                guard report.droppedPartitions.count == 1, let file = report.archivedFiles.first, report.archivedFiles.count == 1, file.rows == rowsPerDay else {
                    throw CommandFailure("the retention pass archived \(report.archivedFiles) and dropped \(report.droppedPartitions), expected day 0's \(rowsPerDay) rows")
                }
                let bytes = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int ?? 0
                archived = [
                    "archive_pass_s": seconds, "archive_rows_per_s": Double(file.rows) / seconds, "archive_file_bytes_per_row": Double(bytes) / Double(file.rows),
                    "archive_pass_resident_before_mib": before, "archive_pass_peak_resident_mib": peak,
                ]
            }
        }
        var figures: [String: Any] = ["benchmark": "scale", "rows": days * rowsPerDay, "rows_per_day": rowsPerDay, "days": days, "features": 8]
        for (name, values) in growth {
            figures[name] = values.map { ($0 * 1_000).rounded() / 1_000 }
            // Flat means the last measure is close to the first: their ratio.
            if name != "rows_in_log", let head = values.first, let tail = values.last, head > 0 { figures[name + "_last_to_first"] = (tail / head * 1_000).rounded() / 1_000 }
        }
        for (name, value) in archived { figures[name] = (value * 1_000).rounded() / 1_000 }
        figures["peak_rss_mib"] = BenchCluster.peakMemoryMiB
        try printBenchmarkLine(figures)
    }
}
