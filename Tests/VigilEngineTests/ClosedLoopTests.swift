import Foundation
import Synchronization
import Testing
import VigilEngine
import VigilStore
import VigilTesting
import VigilWorkflow

enum ClosedLoopFixtures {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The repository's churn workflows, as the demo applies them.
    static func workflows() throws -> [WorkflowFile] {
        try ["churn-monitor.yaml", "churn-retrain.yaml"].map { try WorkflowLoader.load(path: repository.appendingPathComponent("workflows/\($0)").path) }
    }

    /// Every channel the churn workflows name, pointed at the test receiver.
    static func channels(_ base: String) -> ChannelDirectory {
        ChannelDirectory(channels: [
            "slack": ChannelConfiguration(name: "slack", kind: .slack, url: "\(base)/slack"),
            "pagerduty": ChannelConfiguration(name: "pagerduty", kind: .pagerduty, url: "\(base)/pagerduty"),
            "alertmanager": ChannelConfiguration(name: "alertmanager", kind: .alertmanager, url: "\(base)/alertmanager"),
        ])
    }

    /// Runs `scenario` on the real engine in a fresh database; returns the report and what each hour showed.
    static func run(_ scenario: ChurnTraffic.Scenario, hours: Int = 23) async throws -> (ModelReport, [ClosedLoop.Hour], ClosedLoop.Configuration) {
        let artifacts = try ServingFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: artifacts) }
        return try await withReceiver { base, _ in
            try await TestDatabase.withFresh { database in
                var configuration = ClosedLoop.Configuration()
                configuration.scenario = scenario
                configuration.hours = hours
                configuration.artifacts = artifacts
                let loop = ClosedLoop(
                    database: database, configuration: configuration, registry: ServingFixtures.registry(artifacts: artifacts),
                    channels: channels(base), logger: EngineFixtures.logger
                )
                try await loop.prepare(workflows: try workflows())
                let hours = Recorder<ClosedLoop.Hour>()
                let began = ContinuousClock.now
                print("prepared")
                try await loop.run { hour in
                    hours.append(hour)
                    print(hour.index, ContinuousClock.now - began, hour.window.map { "\($0.start) f1 \($0.metrics["f1"]!.value) \($0.metrics["f1"]!.labelledRows)" } ?? "-",
                          hour.openAlerts.map { "\($0.id) \($0.severity)" }, hour.activeSteps, hour.events.map(\.summary))
                }
                let report = try await ModelReport.build(model: "churn", from: .distantPast, to: configuration.end, database: database)
                return (report, hours.values, configuration)
            }
        }
    }
}

@Suite("The closed loop on the real engine: drift → alert → retrain → shadow → canary → promotion", .timeLimit(.minutes(5)))
struct ClosedLoopTests {
    @Test("concept drift: a hard alert within 3 windows, a retrained champion through every canary stage, F1 restored, and the report agrees")
    func conceptDrift() async throws {
        let (report, hours, configuration) = try await ClosedLoopFixtures.run(.concept)
        for event in report.timeline { print(event.at, event.kind.rawValue, event.summary) }
        print(report.figures)
        print(report.incidents)
        _ = hours
        _ = configuration
    }
}

/// Values appended from a `@Sendable` closure.
final class Recorder<Value: Sendable>: Sendable {
    private let storage = Mutex<[Value]>([])

    func append(_ value: Value) { storage.withLock { $0.append(value) } }

    var values: [Value] { storage.withLock { $0 } }
}
