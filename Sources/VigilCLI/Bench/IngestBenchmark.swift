import ArgumentParser
import Foundation
import VigilStore
import VigilWorkflow

/// `vigil bench ingest`: rows per second of `vigil ingest` (parse, check, COPY) on a 1M × 8 CSV,
/// beside a plain COPY of the same file's fields into a text table, measured in the same run.
struct IngestBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Ingest rows per second (parsing and validation included) against plain COPY of the same data."
    )

    @Option(help: "Rows in the generated file.") var rows = 1_000_000

    func run() async throws {
        try await BenchFolder.with(measure)
    }

    private func measure(in folder: URL) async throws {
        let file = folder.appendingPathComponent("inferences.csv")
        try SyntheticInferences.writeCSV(to: file, rows: rows, start: Date(timeIntervalSince1970: 1_763_942_400), seconds: 86_400, seed: 1)
        let bytes = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int ?? 0
        var figures: [String: Any] = ["benchmark": "ingest", "rows": rows, "features": 8, "file_mib": Double(bytes) / 1_048_576, "durable_commits": true]
        try await BenchCluster.with { database, _ in
            let copySeconds = try await timePlainCopy(file, database: database)
            let report = try await InferenceIngest(database: database).load(
                try DataRecordReader(path: file.path), options: .init(model: "bench", features: SyntheticInferences.features, actor: "bench")
            )
            figures["ingest_s"] = report.seconds
            figures["ingest_rows_per_s"] = Double(report.rowsLoaded) / report.seconds
            figures["quarantined"] = report.quarantined
            figures["plain_copy_s"] = copySeconds
            figures["plain_copy_rows_per_s"] = Double(rows) / copySeconds
            figures["ingest_to_plain_copy"] = report.seconds / copySeconds
        }
        figures["peak_rss_mib"] = BenchCluster.peakMemoryMiB
        try printBenchmarkLine(figures)
    }

    /// COPY of the file's fields, tab-separated, into a table of 15 text columns: the floor any ingest pays.
    private func timePlainCopy(_ file: URL, database: Database) async throws -> Double {
        var data = [UInt8](try Data(contentsOf: file))
        if let newline = data.firstIndex(of: UInt8(ascii: "\n")) { data.removeSubrange(...newline) }
        for index in data.indices where data[index] == UInt8(ascii: ",") { data[index] = UInt8(ascii: "\t") }
        var chunks: [[UInt8]] = []
        var start = 0
        while start < data.count {
            var end = min(start + (1 << 20), data.count)
            while end < data.count && data[end - 1] != UInt8(ascii: "\n") { end += 1 }
            chunks.append(Array(data[start..<end]))
            start = end
        }
        return try await BenchmarkFloor(database: database).timePlainCopy(columns: 15, chunks: chunks)
    }
}
