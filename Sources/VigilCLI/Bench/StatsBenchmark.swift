import ArgumentParser
import Foundation
import VigilStatistics
import VigilWorkflow

/// `vigil bench stats`: drift tests and profiling on a million values, against NumPy/SciPy on the
/// same data in the same run, and `vigil drift` on two million-row, 8-column CSV files.
struct StatsBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "KS + PSI + JS + Wasserstein on 1M vs 1M values (vs SciPy), profiling, and vigil drift on CSV."
    )

    @Option(help: "Values in each sample.")
    var size = 1_000_000

    @Option(help: "Repetitions; the median is reported.")
    var repetitions = 3

    @Option(help: "Rows of each CSV file for the vigil drift figure (0 skips it).")
    var csvRows = 1_000_000

    @Option(help: "Rows on each side of the embedding tests (384 dimensions; 0 skips them).")
    var embeddingRows = 5_000

    @Option(help: "The Python with NumPy and SciPy to compare against (empty skips it).")
    var python = "python3"

    func run() throws {
        var random = SeededGenerator(seed: 42)
        let reference = (0..<size).map { _ in random.normal() }
        let current = (0..<size).map { _ in random.normal(mean: 0.05, deviation: 1.1) }
        var figures: [String: Any] = ["benchmark": "stats", "n": size]

        let swiftSeconds = try Stopwatch.median(repetitions: repetitions) {
            let a = try SortedSample(reference), b = try SortedSample(current)
            for method in [DriftMethod.ks, .psi, .jensenShannon, .wasserstein] {
                _ = try NumericDrift.compare(a, b, method: method)
            }
        }
        figures["swift_four_tests_s"] = swiftSeconds
        let profileSeconds = Stopwatch.median(repetitions: repetitions) {
            var profile = NumericProfile(edges: [-2, -1, 0, 1, 2])
            profile.add(contentsOf: reference)
        }
        figures["profile_1m_ms"] = profileSeconds * 1_000

        if !python.isEmpty, let numpySeconds = try? SciPyReference.time(python: python, reference, current, repetitions: repetitions) {
            figures["scipy_four_tests_s"] = numpySeconds
            figures["speedup_vs_scipy"] = numpySeconds / swiftSeconds
        } else {
            figures["scipy_four_tests_s"] = NSNull()
        }
        if embeddingRows > 0 {
            figures.merge(try embeddingFigures()) { $1 }
        }
        if csvRows > 0 {
            figures["drift_csv_rows"] = csvRows
            figures["drift_csv_s"] = try timeDriftOnCSV(rows: csvRows)
        }
        try printBenchmarkLine(figures)
    }

    /// Writes two `rows` × 8 CSV files and times reading both and comparing every column.
    private func timeDriftOnCSV(rows: Int) throws -> Double {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var random = SeededGenerator(seed: 7)
        let paths = try [0.0, 0.2].enumerated().map { index, shift in
            var text = "amount,orders,tenure,tickets,discount,score,plan,region\n"
            text.reserveCapacity(rows * 60)
            let plans = ["basic", "pro", "team"], regions = ["EU", "US", "APAC", "LATAM"]
            for _ in 0..<rows {
                let amount = random.normal(mean: 50 + shift * 10, deviation: 12)
                let orders = Int(random.uniform() * 20), tickets = Int(random.uniform() * 5)
                text += "\(String(format: "%.2f", amount)),\(orders),\(String(format: "%.1f", random.uniform() * 60)),\(tickets),"
                text += "\(String(format: "%.3f", random.uniform() * 0.3)),\(String(format: "%.4f", random.normal())),"
                text += "\(plans[Int(random.uniform() * 3)]),\(regions[Int(random.uniform() * 4)])\n"
            }
            let path = folder.appendingPathComponent("data\(index).csv").path
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            return path
        }
        return try Stopwatch.time {
            let tables = try paths.map { try DataFileReader.read(path: $0) }
            let values = tables.map { table in
                Dictionary(uniqueKeysWithValues: zip(table.columnNames, table.columns).compactMap { name, column in column.driftValues.map { (name, $0) } })
            }
            _ = DatasetDrift(reference: values[0], current: values[1], columns: tables[0].columnNames)
        }.seconds
    }
}

/// Times NumPy/SciPy running the same four methods on the same data, as the yardstick.
enum SciPyReference {
    static let script = """
        import sys, time, json
        import numpy as np
        from scipy import stats
        from scipy.spatial.distance import jensenshannon
        ref = np.fromfile(sys.argv[1], dtype='<f8'); cur = np.fromfile(sys.argv[2], dtype='<f8')
        def four():
            stats.ks_2samp(ref, cur, method='auto')
            edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
            q = np.bincount(np.searchsorted(edges, ref, side='right'), minlength=len(edges) + 1) / len(ref)
            p = np.bincount(np.searchsorted(edges, cur, side='right'), minlength=len(edges) + 1) / len(cur)
            pf = np.maximum(p, 1e-4); qf = np.maximum(q, 1e-4)
            np.sum((pf - qf) * np.log(pf / qf))
            edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
            q = np.bincount(np.searchsorted(edges, ref, side='right'), minlength=len(edges) + 1) / len(ref)
            p = np.bincount(np.searchsorted(edges, cur, side='right'), minlength=len(edges) + 1) / len(cur)
            jensenshannon(p, q)
            stats.wasserstein_distance(ref, cur)
        times = []
        for _ in range(int(sys.argv[3])):
            t = time.perf_counter(); four(); times.append(time.perf_counter() - t)
        times.sort(); print(json.dumps(times[len(times) // 2]))
        """

    static func time(python: String, _ reference: [Double], _ current: [Double], repetitions: Int) throws -> Double {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-scipy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let paths = [folder.appendingPathComponent("ref.f8"), folder.appendingPathComponent("cur.f8")]
        for (path, values) in zip(paths, [reference, current]) {
            try values.withUnsafeBytes { try Data($0).write(to: path) }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-c", script, paths[0].path, paths[1].path, String(repetitions)]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let seconds = Double(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw CommandFailure("\(python) with NumPy and SciPy did not run") }
        return seconds
    }
}
