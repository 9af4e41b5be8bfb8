import Foundation
import Testing
import VigilEngine
import VigilStatistics
import VigilStore
import VigilTesting
import VigilWorkflow

/// Hourly logs of seven numeric features `f1`…`f7`, standard normal, for multivariate tests.
private enum JointLog {
    static let features = (1...7).map { ColumnSchema(name: "f\($0)", type: .number) }

    /// From hour `changeFrom` on, `change` rewrites a row's seven values.
    static func write(to url: URL, hours: Int, perHour: Int, seed: UInt64, changeFrom: Int, change: (inout [Double], inout SeededGenerator) -> Void) throws {
        var generator = SeededGenerator(seed: seed)
        let formatter = ISO8601DateFormatter()
        var text = "request_id,ts,prediction,score," + features.map(\.name).joined(separator: ",") + "\n"
        for hour in 0..<hours {
            for row in 0..<perHour {
                let ts = SyntheticLog.start.addingTimeInterval(Double(hour) * 3_600 + Double(row) * 3_600 / Double(perHour))
                var values = (0..<7).map { _ in generator.normal() }
                // f1 and f2 move together (ρ 0.9) unless `change` says otherwise.
                values[1] = 0.9 * values[0] + (1 - 0.81).squareRoot() * values[1]
                if hour >= changeFrom { change(&values, &generator) }
                let score = generator.uniform()
                text += "r\(hour)-\(row),\(formatter.string(from: ts)),\(score > 0.5 ? 1 : 0),\(score)," + values.map { String($0) }.joined(separator: ",") + "\n"
            }
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// Loads `url` and monitors its windows against its first `baselineHours` hours, with the
    /// multivariate tests on `sampleRows` rows a side: the windows, oldest first.
    static func monitor(_ url: URL, hours: Int, baselineHours: Int, sampleRows: Int, in database: Database) async throws -> [WindowReport] {
        _ = try await InferenceIngest(database: database).load(
            try DataRecordReader(path: url.path), options: .init(model: "joint", features: features, actor: "test")
        )
        let format = { (hour: Int) in ISO8601DateFormatter().string(from: SyntheticLog.start.addingTimeInterval(Double(hour) * 3_600)) }
        let data = MonitoredData(
            timestamp: "ts", prediction: "prediction", score: "score", problemType: .classification, features: features,
            granularity: WorkflowDuration(seconds: 3_600), baseline: .fixed(start: format(0), end: format(baselineHours))
        )
        var options = WindowMonitor.Options()
        options.maximumWindows = 100
        options.lookback = 4 * 86_400
        var multivariate = MultivariateOptions()
        multivariate.sampleRows = sampleRows
        multivariate.seed = 7
        options.multivariate = multivariate
        let monitor = try WindowMonitor(database: database, workflow: "test", model: "joint", data: data, options: options, logger: EngineFixtures.logger)
        _ = try await monitor.run(now: SyntheticLog.start.addingTimeInterval(Double(hours + 1) * 3_600), runID: nil)
        return Array(try await MetricsStore(database: database).recentWindows(model: "joint", count: hours).reversed())
    }
}

@Suite("Multivariate drift and its drivers in the monitor", .timeLimit(.minutes(4)))
struct MultivariateMonitoringTests {
    @Test("two features that only swap their correlation: both multivariate methods flag every changed window, no column's own test does, and none before")
    func correlationOnly() async throws {
        let url = SyntheticLog.temporaryFile("joint.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        // ρ(f1, f2) goes from 0.9 to −0.9; each column stays standard normal.
        try JointLog.write(to: url, hours: 9, perHour: 300, seed: 3, changeFrom: 6) { values, _ in values[1] = -values[1] }
        try await TestDatabase.withFresh { database in
            let windows = try await JointLog.monitor(url, hours: 9, baselineHours: 4, sampleRows: 1_000, in: database)
            #expect(windows.count == 9)
            for (hour, window) in windows.enumerated() {
                let flagged = window.multivariate.filter(\.drifted).map(\.method).sorted()
                let univariate = window.drift.filter { $0.columnRole == "feature" && $0.drifted }.map(\.featureName)
                #expect(window.multivariate.count == 2, "hour \(hour): \(window.multivariate)")
                #expect(univariate.isEmpty, "hour \(hour): \(univariate) drifted on their own")
                if hour >= 6 {
                    #expect(flagged == ["domain_classifier", "reconstruction"], "hour \(hour): \(window.multivariate)")
                    // The classifier found the change in f1 and f2 together.
                    #expect(Set(window.drivers.prefix(2).map(\.feature)) == ["f1", "f2"], "hour \(hour): \(window.drivers)")
                } else {
                    #expect(flagged.isEmpty, "hour \(hour): \(window.multivariate)")
                }
                #expect(window.multivariate.allSatisfy { $0.referenceRows == 1_000 && $0.currentRows == 300 && $0.seed == 7 })
            }
        }
    }

    @Test("one of seven features shifts by 0.4 σ: it ranks first among the drivers of every shifted window")
    func oneDriverOfSeven() async throws {
        let url = SyntheticLog.temporaryFile("joint.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try JointLog.write(to: url, hours: 8, perHour: 300, seed: 11, changeFrom: 6) { values, _ in values[4] += 0.4 }
        try await TestDatabase.withFresh { database in
            let windows = try await JointLog.monitor(url, hours: 8, baselineHours: 4, sampleRows: 400, in: database)
            for window in windows.suffix(2) {
                #expect(window.drivers.first?.feature == "f5", "\(window.drivers)")
                #expect(window.drivers.count == 7)
                #expect(abs(window.drivers.map(\.share).reduce(0, +) - 1) < 1e-9)
                #expect(window.drivers.first?.classifierShare != nil)
            }
        }
    }

    @Test("an evaluate rule on multivariate drift holds, naming the method and the top three drivers")
    func multivariateRule() async throws {
        let url = SyntheticLog.temporaryFile("joint.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try JointLog.write(to: url, hours: 7, perHour: 300, seed: 5, changeFrom: 5) { values, _ in values[1] = -values[1] }
        try await TestDatabase.withFresh { database in
            _ = try await InferenceIngest(database: database).load(
                try DataRecordReader(path: url.path), options: .init(model: "joint", features: JointLog.features, actor: "test")
            )
            _ = try await EngineFixtures.apply("""
                name: joint-watch
                model: joint
                data:
                  timestamp: ts
                  prediction: prediction
                  score: score
                  granularity: 1h
                  baseline: { start: "2025-11-24T00:00:00Z", end: "2025-11-24T04:00:00Z" }
                  features: { f1: { type: number }, f2: { type: number }, f3: { type: number }, f4: { type: number }, f5: { type: number }, f6: { type: number }, f7: { type: number } }
                steps:
                  monitor:
                    uses: monitor
                    with: { lookback: 400d, windows: 100, multivariate: { sample_rows: 300, seed: 1 } }
                  evaluate:
                    uses: evaluate
                    needs: monitor
                    with:
                      soft: { drift_share: 0.2 }
                      hard: { multivariate: { methods: [domain_classifier] } }
                  escalate:
                    uses: escalate
                    needs: evaluate
                    with:
                      severity: ${{ steps.evaluate.outputs.severity }}
                      reasons: ${{ steps.evaluate.outputs.reasons }}
                """, to: database)
            let (run, records) = try await EscalationFixtures.run("joint-watch", in: database, channels: ChannelDirectory(channels: [:]))
            #expect(run.state == .succeeded, "\(records.values.compactMap(\.error))")
            let steps = Array(records.values)
            let monitor = try #require(steps.first { $0.name == "monitor" }?.outputs)
            let evaluate = try #require(steps.first { $0.name == "evaluate" }?.outputs)
            #expect(monitor["multivariate_drifted"] == .array([.string("reconstruction"), .string("domain_classifier")]))
            #expect(evaluate["severity"] == .string("hard"))
            guard case let .array(reasons)? = evaluate["reasons"], let reason = reasons.first?.stringValue else {
                Issue.record("no reasons: \(evaluate)")
                return
            }
            #expect(reason.hasPrefix("hard: multivariate: multivariate drift: domain classifier AUC "), "\(reason)")
            #expect(reason.contains("; top drivers: f"), "\(reason)")
            #expect(reasons.count == 1, "\(reasons)")

            // The alert carries the window's top three drivers, led by the two features whose correlation flipped.
            let alert = try #require(try await AlertStore(database: database).list(model: "joint").first)
            guard case let .array(drivers)? = alert.findings["drivers"] else {
                Issue.record("the alert has no drivers: \(alert.findings)")
                return
            }
            let names = drivers.compactMap { driver -> String? in if case let .object(fields) = driver { fields["feature"]?.stringValue } else { nil } }
            #expect(names.count == 3 && Set(names.prefix(2)) == ["f1", "f2"], "\(names)")

            // The report lists the drifted windows with what flagged them and their drivers.
            let report = try await ModelReport.build(model: "joint", from: .distantPast, to: SyntheticLog.start.addingTimeInterval(8 * 3_600), database: database)
            let latest = try #require(report.driverLines.first)
            #expect(latest.hasPrefix("2025-11-24 06:00: multivariate: domain_classifier, reconstruction; top drivers: f"), "\(latest)")
            #expect(report.drivenWindows.count == 2, "\(report.driverLines)")
        }
    }
}
