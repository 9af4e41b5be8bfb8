import ArgumentParser
import Foundation

/// `vigil bench NAME`: measures one part of Vigil and prints its figures as one JSON line.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark and print its figures as one JSON line (build with -c release).",
        subcommands: [StatsBenchmark.self, EmbeddingCalibrationBenchmark.self, EngineBenchmark.self, IngestBenchmark.self, MonitorBenchmark.self, ScaleBenchmark.self, DemoBenchmark.self, ValidateBenchmark.self]
    )
}

/// Wall-clock timing for benchmarks.
enum Stopwatch {
    /// Seconds taken by `body`, and its result.
    static func time<Result>(_ body: () throws -> Result) rethrows -> (seconds: Double, result: Result) {
        let start = ContinuousClock.now
        let result = try body()
        let elapsed = ContinuousClock.now - start
        return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18, result)
    }

    /// Seconds taken by an asynchronous `body`, and its result.
    static func timeAsync<Result>(_ body: () async throws -> Result) async rethrows -> (seconds: Double, result: Result) {
        let start = ContinuousClock.now
        let result = try await body()
        let elapsed = ContinuousClock.now - start
        return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18, result)
    }

    /// The median of `repetitions` timings of `body`.
    static func median(repetitions: Int, _ body: () throws -> Void) rethrows -> Double {
        var timings: [Double] = []
        for _ in 0..<repetitions { timings.append(try time(body).seconds) }
        timings.sort()
        return timings[timings.count / 2]
    }
}

/// Prints a benchmark's figures as one JSON line with sorted keys.
func printBenchmarkLine(_ figures: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}
