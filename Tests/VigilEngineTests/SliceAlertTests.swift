import Foundation
import Testing
import VigilEngine
import VigilStatistics
import VigilStore
import VigilTesting
import VigilWorkflow

/// An hourly log in three large regions and one small one, where from `shiftFrom` on `tenure`
/// moves up by `shift` σ in `eu` and `mena` only.
private enum RegionalLog {
    static let features = [
        ColumnSchema(name: "amount", type: .number, minimum: 0),
        ColumnSchema(name: "tenure", type: .number),
        ColumnSchema(name: "region", type: .category),
    ]
    static let perHour = ["apac": 150, "eu": 150, "us": 150, "mena": 20]

    /// With `correlation`, from `shiftFrom` on `amount` follows `tenure` in `eu` only (correlation
    /// `correlation`), each feature keeping its own distribution; `shift` moves nothing then.
    static func write(to url: URL, hours: Int, shiftFrom: Int, shift: Double, correlation: Double? = nil, seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var text = "request_id,ts,prediction,score,amount,tenure,region\n"
        let formatter = ISO8601DateFormatter()
        for hour in 0..<hours {
            var rows: [String] = []
            for (region, count) in perHour.sorted(by: { $0.key < $1.key }) {
                for _ in 0..<count { rows.append(region) }
            }
            for (index, region) in rows.enumerated() {
                let ts = SyntheticLog.start.addingTimeInterval(Double(hour) * 3_600 + Double(index) * 3_600 / Double(rows.count))
                let moved = hour >= shiftFrom && (region == "eu" || region == "mena")
                let z = generator.normal(mean: 0, deviation: 1), noise = generator.normal(mean: 0, deviation: 1)
                var tenure = 24 + 6 * z, amount = abs(80 + 20 * noise)
                if let correlation {
                    if hour >= shiftFrom && region == "eu" {
                        amount = abs(80 + 20 * (correlation * z + (1 - correlation * correlation).squareRoot() * noise))
                    }
                } else if moved {
                    tenure += shift * 6
                }
                let score = generator.uniform()
                text += "r\(hour)-\(index),\(formatter.string(from: ts)),\(score > 0.5 ? 1 : 0),\(score),\(amount),\(tenure),\(region)\n"
            }
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// The regions workflow with this evaluate step, its baseline the first `baselineHours` hours.
    static func workflow(evaluate: String, monitor: String = "", baselineHours: Int = 24) -> String {
        let baselineEnd = ISO8601DateFormatter().string(from: SyntheticLog.start.addingTimeInterval(Double(baselineHours) * 3_600))
        return """
        name: regions
        model: churn
        data:
          timestamp: ts
          prediction: prediction
          score: score
          granularity: 1h
          baseline: { start: "2025-11-24T00:00:00Z", end: "\(baselineEnd)" }
          features:
            amount: { type: number, min: 0 }
            tenure: { type: number }
            region: { type: category }
          slices: [region]
        steps:
          monitor:
            uses: monitor
            with: { lookback: 400d, windows: 100\(monitor) }
          evaluate:
            uses: evaluate
            needs: monitor
            with:
        \(evaluate.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
          escalate:
            uses: escalate
            needs: evaluate
            with:
              alert: region-drift
              slices: ${{ steps.evaluate.outputs.slices }}
        """
    }

    static func run(in database: Database) async throws -> (RunSummary, [String: StepRecord]) {
        try await EscalationFixtures.run("regions", in: database, channels: ChannelDirectory(channels: [:]))
    }

    /// A fresh database holding `hours` hours of the log (changed in its last two hours, as
    /// `write` says; all but the last four are the baseline) and the workflow with this evaluate
    /// step, for `body`.
    static func withLog(
        hours: Int = 28, shift: Double, correlation: Double? = nil, seed: UInt64, evaluate: String, monitor: String = "",
        _ body: (Database) async throws -> Void
    ) async throws {
        let url = SyntheticLog.temporaryFile("regions.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try write(to: url, hours: hours, shiftFrom: hours - 2, shift: shift, correlation: correlation, seed: seed)
        try await TestDatabase.withFresh { database in
            _ = try await InferenceIngest(database: database).load(
                try DataRecordReader(path: url.path), options: .init(model: "churn", features: features, actor: "test")
            )
            _ = try await EngineFixtures.apply(workflow(evaluate: evaluate, monitor: monitor, baselineHours: hours - 4), to: database)
            try await body(database)
        }
    }
}

@Suite("Slices that alert: rules per slice, one incident per slice", .timeLimit(.minutes(4)))
struct SliceAlertTests {
    @Test("only eu drifts: for_each_slice raises exactly one alert, naming region=eu; a second pass updates it; a small slice is not judged")
    func oneRegionDrifts() async throws {
        try await RegionalLog.withLog(shift: 1, seed: 41, evaluate: """
            for_each_slice: region
            soft: { drift_share: 0.3 }
            hard: { features: [tenure] }
            """) { database in
            let (run, steps) = try await RegionalLog.run(in: database)
            #expect(run.state == .succeeded, "\(steps.values.compactMap(\.error))")
            let evaluate = try #require(steps["evaluate"]?.outputs)
            #expect(evaluate["severity"] == .string("hard"))
            guard case let .array(slices)? = evaluate["slices"] else {
                Issue.record("evaluate gave no slices: \(evaluate)")
                return
            }
            let judged = slices.compactMap { slice -> (String, String)? in
                guard case let .object(fields) = slice, let name = fields["slice"]?.stringValue, let severity = fields["severity"]?.stringValue else { return nil }
                return (name, severity)
            }
            // mena drifts too, but on 20 rows an hour it is below min_slice_rows and is not judged.
            #expect(judged.map(\.0) == ["region=apac", "region=eu", "region=us"])
            #expect(judged.map(\.1) == ["none", "hard", "none"])
            let log = try await RunStore(database: database).logs(ofRun: run.id, step: "evaluate").map(\.line).joined(separator: "\n")
            #expect(log.contains("region=mena not judged: 20 rows in the latest window, fewer than min_slice_rows 100"))
            #expect(log.contains("3 slices judged: levels divided by 3"))

            var alerts = try await AlertStore(database: database).list(model: "churn")
            #expect(alerts.count == 1)
            let alert = try #require(alerts.first)
            #expect(alert.subject == "region=eu" && alert.severity == .hard && alert.rule == "region-drift")
            #expect(alert.labels["slice"] == "region=eu")
            guard case let .array(reasons)? = alert.findings["reasons"] else {
                Issue.record("the alert has no reasons")
                return
            }
            #expect(reasons.compactMap(\.stringValue).contains { $0.hasPrefix("hard: region=eu: features: watched features drifted: tenure") })
            #expect(steps["escalate"]?.outputs?["alert_id"] == .string(String(alert.id)))

            // The alert shows what drifted in eu, with eu's scores, and what drives eu's drift.
            let regions = try await MetricsStore(database: database).recentSliceWindows(model: "churn", key: "region", count: 1)
            let eu = try #require(regions["eu"]?.first)
            let euTenure = try #require(eu.drift.first { $0.featureName == "tenure" })
            func listed(_ key: String) -> [[String: JSONValue]] {
                guard case let .array(items)? = alert.findings[key] else { return [] }
                return items.compactMap { if case let .object(fields) = $0 { fields } else { nil } }
            }
            #expect(listed("drifted_features").compactMap { $0["feature"]?.stringValue } == ["tenure"])
            #expect(listed("drifted_features").first?["score"] == .number(euTenure.driftScore))
            #expect(eu.drivers.map(\.feature) == ["tenure", "amount"] && (eu.drivers.first?.share ?? 0) > 0.6, "\(eu.drivers)")
            #expect(listed("drivers").compactMap { $0["feature"]?.stringValue } == ["tenure", "amount"])
            #expect(regions["apac"]?.first?.drivers.count == 2)

            // The next pass sees the same drift: the same incident, not a second one.
            let (again, _) = try await RegionalLog.run(in: database)
            #expect(again.state == .succeeded)
            alerts = try await AlertStore(database: database).list(model: "churn")
            #expect(alerts.count == 1 && alerts.first?.occurrences == 2)
        }
    }

    @Test("a slice rule names a slice the workflow declares, or the workflow is refused at its line and column, saying which ones it does")
    func undeclaredSlice() async throws {
        let message = try await Self.refusal(evaluate: "for_each_slice: country\nhard: { drift_share: 0.5 }")
        #expect(message.contains("step 'evaluate': for_each_slice 'country' is not among the workflow's data.slices (declared: region)"), "\(message)")
    }

    @Test("only eu's two features change their correlation: a multivariate rule per slice raises one alert, naming region=eu, where no feature drifted alone")
    func oneRegionCorrelates() async throws {
        // Ten hours, the first six the baseline: the classifiers of 10 windows × 4 slices (and the
        // whole window) are the costly part, in a debug build beside the rest of the suite.
        try await RegionalLog.withLog(hours: 10, shift: 0, correlation: 0.95, seed: 43, evaluate: """
            for_each_slice: region
            hard: { multivariate: true }
            """, monitor: ", multivariate: { methods: [domain_classifier], sample_rows: 300 }") { database in
            let (run, steps) = try await RegionalLog.run(in: database)
            #expect(run.state == .succeeded, "\(steps.values.compactMap(\.error))")
            #expect(steps["evaluate"]?.outputs?["severity"] == .string("hard"))

            let windows = try await MetricsStore(database: database).recentSliceWindows(model: "churn", key: "region", count: 1, since: .distantPast)
            let eu = try #require(windows["eu"]?.first)
            let classifier = try #require(eu.multivariate.first)
            #expect(classifier.sliceValue == "eu" && classifier.method == "domain_classifier" && classifier.drifted)
            #expect(classifier.significance == 0.01 && classifier.currentRows == 150)
            // Each feature keeps its own distribution: no test of one feature alone sees it.
            #expect(eu.drift.filter { $0.columnRole == "feature" && $0.drifted }.isEmpty, "\(eu.drift.filter(\.drifted).map(\.featureName))")
            for region in ["apac", "us"] {
                #expect(windows[region]?.first?.multivariate.map(\.drifted) == [false], "\(region)")
            }
            // eu's drivers are ranked with its own classifier's gain.
            #expect(Set(eu.drivers.map(\.feature)) == ["amount", "tenure"] && eu.drivers.allSatisfy { $0.classifierShare != nil }, "\(eu.drivers)")
            // The whole window's own test still runs, beside the slices'.
            let whole = try #require(try await MetricsStore(database: database).recentWindows(model: "churn", count: 1).first)
            #expect(whole.multivariate.map(\.sliceKey) == [nil])

            let alerts = try await AlertStore(database: database).list(model: "churn")
            #expect(alerts.map(\.subject) == ["region=eu"])
            guard case let .array(reasons)? = alerts.first?.findings["reasons"] else {
                Issue.record("the alert has no reasons")
                return
            }
            #expect(reasons.compactMap(\.stringValue).contains { $0.hasPrefix("hard: region=eu: multivariate: multivariate drift: domain classifier AUC") },
                    "\(reasons)")
        }
    }

    @Test("an online detector judged per slice would never fire: the workflow is refused at the rule's line and column")
    func wholeStreamRuleUnderSlices() async throws {
        let evaluate = "for_each_slice: region\nhard:\n  detector: { method: ddm }"
        let message = try await Self.refusal(evaluate: evaluate)
        #expect(message.contains("step 'evaluate': hard.detector reads an online detector, which follows the model's whole stream, not per slice"), "\(message)")
        let line = RegionalLog.workflow(evaluate: evaluate).split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.contains("detector: {") }.map { $0 + 1 }
        #expect(line.map { message.contains(":\($0):9:") } == true, "\(message)")
    }

    /// Why applying the regions workflow with this evaluate step is refused; records an issue if it is not.
    private static func refusal(evaluate: String) async throws -> String {
        try await TestDatabase.withFresh { database in
            do {
                _ = try await EngineFixtures.apply(RegionalLog.workflow(evaluate: evaluate), to: database)
                Issue.record("the workflow was accepted with evaluate: \(evaluate)")
                return ""
            } catch {
                return "\(error)"
            }
        }
    }
}
