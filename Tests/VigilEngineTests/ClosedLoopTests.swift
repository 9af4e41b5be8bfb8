import Foundation
import Synchronization
import Testing
import VigilEngine
import VigilStore
import VigilTesting
import VigilWorkflow

enum ClosedLoopFixtures {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The repository's churn workflows, as the demo applies them (from `folder` under `workflows/`).
    static func workflows(_ folder: String = "") throws -> [WorkflowFile] {
        try ["churn-monitor.yaml", "churn-retrain.yaml"].map {
            try WorkflowLoader.load(path: repository.appendingPathComponent("workflows").appendingPathComponent(folder).appendingPathComponent($0).path)
        }
    }

    /// Every channel the churn workflows name, pointed at the test receiver.
    static func channels(_ base: String) -> ChannelDirectory {
        ChannelDirectory(channels: [
            "slack": ChannelConfiguration(name: "slack", kind: .slack, url: "\(base)/slack"),
            "pagerduty": ChannelConfiguration(name: "pagerduty", kind: .pagerduty, url: "\(base)/pagerduty"),
            "alertmanager": ChannelConfiguration(name: "alertmanager", kind: .alertmanager, url: "\(base)/alertmanager"),
        ])
    }

    /// Runs `scenario` on the real engine in a fresh database; returns the report, what each hour
    /// showed, and what `inspect` read from the database at the end.
    static func run<Extra: Sendable>(
        _ scenario: ChurnTraffic.Scenario, hours: Int = 34, configured: ClosedLoop.Configuration = .init(), folder: String = "", options: ModelReport.Options = .init(),
        inspect: @Sendable (Database, ClosedLoop.Configuration) async throws -> Extra
    ) async throws -> ((report: ModelReport, extra: Extra), [ClosedLoop.Hour], ClosedLoop.Configuration) {
        let artifacts = try ServingFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: artifacts) }
        return try await withReceiver { base, _ in
            try await TestDatabase.withFresh { database in
                var configuration = configured
                configuration.scenario = scenario
                configuration.hours = hours
                configuration.artifacts = artifacts
                let loop = ClosedLoop(
                    database: database, configuration: configuration, registry: ServingFixtures.registry(artifacts: artifacts),
                    channels: channels(base), logger: EngineFixtures.logger
                )
                try await loop.prepare(workflows: try workflows(folder))
                let hours = Recorder<ClosedLoop.Hour>()
                try await loop.run { hours.append($0) }
                let report = try await ModelReport.build(model: "churn", from: .distantPast, to: configuration.end, options: options, database: database)
                return ((report, try await inspect(database, configuration)), hours.values, configuration)
            }
        }
    }

    /// F1 of the labelled requests the model answered in `[from, to)`, from the log.
    static func f1(_ database: Database, from: Date, to: Date) async throws -> Double {
        let rows = try await database.client.query("""
            SELECT count(*) FILTER (WHERE l.prediction = '1' AND b.label = '1')::float8,
                   count(*) FILTER (WHERE l.prediction = '1')::float8 + count(*) FILTER (WHERE b.label = '1')::float8
            FROM inference_log l JOIN inference_labels b USING (model, request_id)
            WHERE l.model = 'churn' AND l.role IN ('champion', 'canary') AND l.ts >= \(from) AND l.ts < \(to)
            """)
        for try await (truePositives, total) in rows.decode((Double, Double).self) { return 2 * truePositives / total }
        return .nan
    }

    /// A timeline without its figures: when, what, about what.
    static func outline(_ timeline: [TimelineEvent]) -> [String] {
        timeline.map { "\(ISO8601DateFormatter().string(from: $0.at)) \($0.kind.rawValue) \($0.subject)" }
    }
}

@Suite("The closed loop on the real engine: drift → alert → retrain → shadow → canary → promotion", .timeLimit(.minutes(12)))
struct ClosedLoopTests {
    @Test("concept drift: a hard alert within 3 windows, a retrained champion through every canary stage, F1 restored, and the report agrees with the timeline")
    func conceptDrift() async throws {
        let (report, hours, configuration) = try await ClosedLoopFixtures.run(.concept) { database, configuration in
            // F1 of what the model answered, straight from the log: before the onset, and after the promotion.
            let promotion = try #require(try await ModelRegistry(database: database).changelog(of: "churn").first { $0.action == "promoted" }?.at)
            return (try await ClosedLoopFixtures.f1(database, from: configuration.onset.addingTimeInterval(-86_400), to: configuration.onset),
                    try await ClosedLoopFixtures.f1(database, from: promotion, to: configuration.end))
        }
        // The bootstrap champion was registered before the engine started.
        let timeline = report.report.timeline.filter { $0.at >= configuration.start }
        #expect(timeline.map(\.kind) == [.driftOnset, .alertRaised, .alertEscalated, .runStarted, .registered, .shadowResult, .canary, .canary, .alertResolved, .promoted, .runFinished],
                "\(timeline.map { "\($0.at) \($0.summary)" })")
        let onset = try #require(timeline.first { $0.kind == .driftOnset }).at
        let soft = try #require(timeline.first { $0.kind == .alertRaised })
        let hard = try #require(timeline.first { $0.kind == .alertEscalated })
        let promoted = try #require(timeline.first { $0.kind == .promoted })
        #expect(onset == configuration.onset)
        #expect(soft.summary.hasPrefix("soft alert") && soft.at > onset)
        // Within 3 windows (hours) of the onset, and never before it.
        #expect(hard.at > onset && hard.at.timeIntervalSince(onset) <= 3 * 3_600, "hard alert at \(hard.at), onset \(onset)")
        #expect(timeline.filter { $0.kind == .canary }.map(\.summary) == ["churn@2 on canary at 10%", "churn@2 on canary at 50%"])
        #expect(promoted.summary == "churn@2 promoted to champion")
        #expect(hours.last?.routing.championVersion == 2 && hours.last?.routing.canaryVersion == nil)

        let (before, after) = report.extra
        #expect(abs(after - before) <= 0.02, "F1 before the drift \(before), after the promotion \(after)")

        // The report's figures are the timeline's intervals.
        let figures = report.report.figures
        #expect(figures.incidents == 1 && figures.alertRecall == 1 && figures.alertPrecision == 1)
        #expect(figures.onsetToFirstAlert == soft.at.timeIntervalSince(onset))
        #expect(figures.meanTimeToRecover == promoted.at.timeIntervalSince(hard.at))
        #expect(figures.automatedMitigation == 1)
        let incident = try #require(report.report.incidents.first)
        #expect(incident.recovered && incident.automated && incident.promotedVersion == 2)
        #expect(incident.qualityLoss.map { $0 >= onset && $0 <= soft.at } == true)
        #expect(figures.uptime.map { $0 > 0.99 && $0 < 1 } == true && figures.slaAdherence == 1)

        // The same configuration writes the same timeline: compare with the run recorded in the fixture.
        let recorded = try String(contentsOf: ClosedLoopFixtures.repository.appendingPathComponent("Tests/VigilEngineTests/Fixtures/concept-timeline.txt"), encoding: .utf8)
        #expect(ClosedLoopFixtures.outline(timeline) == recorded.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init))
    }

    @Test("no drift over the same length: no hard alert, no retraining, nothing to report as an incident")
    func noDrift() async throws {
        let (report, hours, _) = try await ClosedLoopFixtures.run(.none) { _, _ in () }
        #expect(!report.report.timeline.contains { $0.kind == .alertEscalated || $0.kind == .runStarted || $0.kind == .promoted })
        #expect(!report.report.timeline.contains { $0.kind == .alertRaised && $0.summary.hasPrefix("hard") })
        #expect(report.report.figures.hardAlerts == 0 && report.report.figures.incidents == 0)
        #expect(hours.allSatisfy { $0.routing.championVersion == 1 && $0.routing.canaryVersion == nil })
    }

    @Test("a bad challenger is rolled back at its first canary stage and never takes full traffic")
    func badChallenger() async throws {
        let (report, hours, _) = try await ClosedLoopFixtures.run(.badChallenger, hours: 23) { _, _ in () }
        let timeline = report.report.timeline
        #expect(timeline.contains { $0.kind == .canary && $0.summary == "churn@2 on canary at 10%" })
        #expect(!timeline.contains { $0.kind == .promoted })
        let rollback = try #require(timeline.first { $0.kind == .rolledBack })
        #expect(rollback.summary.contains("canary error rate"), "\(rollback.summary)")
        #expect(hours.allSatisfy { ($0.routing.canaryWeight) < 1 } && hours.last?.routing.championVersion == 1 && hours.last?.routing.canaryVersion == nil)
        #expect(report.report.figures.canaryRollbacks == 1 && report.report.figures.automatedMitigation == 0)
    }

    @Test("labels two weeks late: the estimate alerts hard the day after a covariate shift, 13 days before the first label of the drifted period; retraining waits for those labels; the report shows estimate beside realised and the lead time")
    func delayedLabels() async throws {
        var options = ModelReport.Options()
        options.metric = "accuracy"
        var base = ClosedLoop.Configuration.delayedLabels()
        base.requestsPerHour = 120
        let (report, _, configuration) = try await ClosedLoopFixtures.run(
            .covariateDelayed, hours: base.hours, configured: base, folder: "delayed-labels", options: options
        ) { database, configuration in
            // Every day has an accuracy estimated from scores, labelled or not yet.
            let rows = try await database.client.query("""
                SELECT count(*) FILTER (WHERE estimated)::int8, count(DISTINCT window_start_time)::int8 FROM performance_metrics
                WHERE model = 'churn' AND metric = 'accuracy' AND slice_key IS NULL
                """).decode((Int, Int).self)
            var counts = (0, 0)
            for try await row in rows { counts = row }
            return counts
        }
        let timeline = report.report.timeline.filter { $0.at >= configuration.start }
        let hard = try #require(timeline.first { $0.kind == .alertRaised })
        #expect(hard.summary.hasPrefix("hard alert") && hard.summary.contains("estimated_accuracy"), "\(hard.summary)")
        #expect(hard.at > configuration.onset && hard.at.timeIntervalSince(configuration.onset) <= 86_400)
        let incident = try #require(report.report.incidents.first)
        let firstLabel = try #require(incident.firstLabel)
        #expect(firstLabel.timeIntervalSince(configuration.onset) >= 14 * 86_400)
        #expect(incident.firstAlert == hard.at && hard.at < firstLabel)
        #expect(report.report.figures.leadTime == firstLabel.timeIntervalSince(hard.at))
        #expect(report.report.figureRows.contains { $0.0.hasPrefix("lead time") && $0.1.hasPrefix("13d") }, "\(report.report.figureRows)")
        // Retraining waited for the drifted period's labels.
        let registered = try #require(timeline.first { $0.kind == .registered })
        #expect(registered.at > firstLabel)
        // The online detector over the model's errors sees the change only once those labels come.
        let detection = try #require(timeline.first { $0.kind == .detection }, "no detection in \(timeline.map(\.summary))")
        #expect(detection.at >= firstLabel && detection.summary.hasPrefix("adwin:errors"))
        // The estimate sits beside the realised value in the report's windows: close where both exist.
        let both = report.report.windows.filter { $0.labelled > 0 && $0.estimated != nil }
        #expect(both.count >= 10)
        #expect(both.allSatisfy { abs($0.quality! - $0.estimated!) < 0.04 }, "\(both.map { ($0.start, $0.quality!, $0.estimated!) })")
        #expect(report.extra.0 == report.extra.1, "estimated \(report.extra.0) of \(report.extra.1) days")
    }
}

/// Values appended from a `@Sendable` closure.
final class Recorder<Value: Sendable>: Sendable {
    private let storage = Mutex<[Value]>([])

    func append(_ value: Value) { storage.withLock { $0.append(value) } }

    var values: [Value] { storage.withLock { $0 } }
}
