import ArgumentParser
import Foundation
import VigilEngine
import VigilStore

/// `vigil bench demo`: the demo's closed loop (concept drift, default configuration) on a
/// throwaway cluster: how long preparing and running it take, and whether it closed.
struct DemoBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Time the demo's closed loop (concept drift through promotion) on a throwaway cluster."
    )

    @Option(help: "The folder holding churn-monitor.yaml and churn-retrain.yaml.") var workflows = "workflows"

    func run() async throws {
        let files = try DemoCommand.workflowFiles(in: workflows)
        let artifacts = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-artifacts-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: artifacts) }
        var configuration = ClosedLoop.Configuration()
        configuration.artifacts = artifacts
        let start = ContinuousClock.now
        var figures: [String: Any] = ["benchmark": "demo", "hours": configuration.hours, "requests_per_hour": configuration.requestsPerHour]
        try await BenchCluster.with { database, logger in
            figures["cluster_s"] = Self.seconds(since: start)
            try await DemoCommand.withReceiver(logger: logger, deliver: { _, _ in }) { channels, routing in
                var registry = DemoCommand.registry(routing: routing)
                registry.register(RetrainStep(artifacts: artifacts))
                let loop = ClosedLoop(database: database, configuration: configuration, registry: registry, channels: channels, logger: logger)
                let (prepare, _) = try await Stopwatch.timeAsync { try await loop.prepare(workflows: files) }
                let (run, _) = try await Stopwatch.timeAsync { try await loop.run() }
                figures["prepare_s"] = prepare
                figures["run_s"] = run
                figures["seconds_per_simulated_hour"] = run / Double(configuration.hours)
            }
            let report = try await ModelReport.build(model: configuration.model, from: .distantPast, to: configuration.end, database: database)
            figures["promoted"] = report.incidents.first?.promotion != nil
            figures["recovered"] = report.incidents.first?.recovered ?? false
            figures["mean_time_to_recover_h"] = report.figures.meanTimeToRecover.map { $0 / 3_600 } ?? NSNull()
        }
        figures["total_s"] = Self.seconds(since: start)
        figures["peak_rss_mib"] = BenchCluster.peakMemoryMiB
        try printBenchmarkLine(figures)
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}
