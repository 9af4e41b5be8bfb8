import Foundation
import Testing
import VigilEngine
import VigilStatistics
import VigilStore
import VigilTesting
import VigilWorkflow

/// Synthetic inference logs: hourly windows of seeded rows, with an optional shift in one feature.
enum SyntheticLog {
    static let start = Date(timeIntervalSince1970: 1_763_942_400) // 2025-11-24T00:00:00Z
    static let features = [
        ColumnSchema(name: "amount", type: .number, minimum: 0),
        ColumnSchema(name: "tenure", type: .number),
        ColumnSchema(name: "tickets", type: .integer, minimum: 0),
        ColumnSchema(name: "plan", type: .category, allowed: ["basic", "pro", "team"]),
    ]

    /// A CSV of `hours` × `perHour` rows; from hour `shiftFrom` on, `tenure` moves up by `shift` σ.
    static func write(
        to url: URL, hours: Int, perHour: Int, seed: UInt64, shiftFrom: Int? = nil, shift: Double = 1, labelled: Bool = false, fromHour: Int = 0
    ) throws {
        var generator = SeededGenerator(seed: seed)
        var text = "request_id,ts,prediction,score,latency_ms,error,amount,tenure,tickets,plan" + (labelled ? ",label" : "") + "\n"
        for hour in fromHour..<hours {
            for row in 0..<perHour {
                let ts = start.addingTimeInterval(Double(hour) * 3_600 + Double(row) * 3_600 / Double(perHour))
                let tenure = generator.normal(mean: 24, deviation: 6) + (shiftFrom.map { hour >= $0 } == true ? shift * 6 : 0)
                let score = min(1, max(0, generator.uniform()))
                let plan = ["basic", "pro", "team"][Int(generator.uniform() * 3) % 3]
                let tickets = Int(generator.uniform() * 8)
                let amount = abs(generator.normal(mean: 80, deviation: 20))
                let latency = 10 + generator.uniform() * 40
                var line = "r\(hour)-\(row),\(ISO8601DateFormatter().string(from: ts)),\(score > 0.5 ? 1 : 0),\(score),\(latency),false,\(amount),\(tenure),\(tickets),\(plan)"
                if labelled { line += generator.uniform() < 0.8 ? ",\(score > 0.5 ? 1 : 0)" : ",\(score > 0.5 ? 0 : 1)" }
                text += line + "\n"
            }
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    static func data(baseline: MonitoredData.Baseline, slices: [String] = ["plan"]) -> MonitoredData {
        MonitoredData(
            table: nil, timestamp: "ts", prediction: "prediction", label: "label", score: "score", requestID: "request_id",
            problemType: .classification, features: features, granularity: WorkflowDuration(seconds: 3_600), baseline: baseline, slices: slices
        )
    }

    static func temporaryFile(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(UUID().uuidString)-\(name)")
    }

    /// A monitor of model `churn` over the synthetic log, computing up to 100 windows in 4 days.
    static func monitor(
        _ database: Database, baseline: MonitoredData.Baseline, slices: [String] = ["plan"], calibration: ScoreCalibration.Method? = nil
    ) throws -> WindowMonitor {
        var options = WindowMonitor.Options()
        options.maximumWindows = 100
        options.lookback = 4 * 86_400
        var data = data(baseline: baseline, slices: slices)
        data.calibration = calibration
        return try WindowMonitor(database: database, workflow: "test", model: "churn", data: data, options: options, logger: EngineFixtures.logger)
    }

    static func ingest(_ url: URL, into database: Database, model: String = "churn") async throws -> IngestReport {
        try await InferenceIngest(database: database).load(
            try DataRecordReader(path: url.path), options: .init(model: model, features: features, actor: "test")
        )
    }
}

@Suite("Monitoring: ingest, windows, drift and evaluation", .timeLimit(.minutes(3)))
struct MonitoringTests {
    @Test("3 bad rows among 10,000: 9,997 load, 3 are quarantined with line and reason; a truncated file loads nothing")
    func ingestQuarantine() async throws {
        let url = SyntheticLog.temporaryFile("log.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try SyntheticLog.write(to: url, hours: 10, perHour: 1_000, seed: 3)
        var lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[11] = lines[11].replacingOccurrences(of: ",basic", with: ",gold").replacingOccurrences(of: ",pro", with: ",gold").replacingOccurrences(of: ",team", with: ",gold")
        var fields = lines[4_001].split(separator: ",").map(String.init)
        fields[6] = "lots"
        lines[4_001] = fields.joined(separator: ",")
        fields = lines[9_000].split(separator: ",").map(String.init)
        fields[1] = "yesterday"
        lines[9_000] = fields.joined(separator: ",")
        try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)

        try await TestDatabase.withFresh { database in
            let report = try await SyntheticLog.ingest(url, into: database)
            #expect(report.rowsRead == 10_000)
            #expect(report.rowsLoaded == 9_997)
            #expect(report.quarantined == 3)
            #expect(report.quarantineSample.map(\.line) == [12, 4_002, 9_001])
            #expect(report.quarantineSample.map(\.column) == ["plan", "amount", "ts"])
            let stored = try await database.client.query("SELECT count(*)::int8 FROM inference_log WHERE model = 'churn'").decode(Int.self).first { _ in true }
            #expect(stored == 9_997)
            let reasons = try await database.client.query("SELECT row_number, reason FROM quarantined_rows ORDER BY row_number").decode((Int, String).self)
            var seen: [(Int, String)] = []
            for try await row in reasons { seen.append(row) }
            #expect(seen.map(\.0) == [12, 4_002, 9_001])
            #expect(seen[0].1.contains("'gold' is not one of basic, pro, team"))
            #expect(seen[1].1.contains("'lots' is not a number"))

            // Truncate in the middle of a line: the file fails at that line and nothing of it is kept.
            let truncated = SyntheticLog.temporaryFile("truncated.csv")
            defer { try? FileManager.default.removeItem(at: truncated) }
            try (lines.prefix(7_000).joined(separator: "\n") + "\n" + lines[7_000].prefix(15)).write(to: truncated, atomically: true, encoding: .utf8)
            await #expect(throws: DataFileError.self) { _ = try await SyntheticLog.ingest(truncated, into: database) }
            do {
                _ = try await SyntheticLog.ingest(truncated, into: database)
            } catch let error as DataFileError {
                #expect(error.description.contains(":7001:"))
            }
            let after = try await database.client.query("SELECT count(*)::int8 FROM inference_log").decode(Int.self).first { _ in true }
            #expect(after == 9_997)
        }
    }

    @Test("a one-σ shift in one feature is flagged from its first window on, and nothing before it")
    func knownShift() async throws {
        let url = SyntheticLog.temporaryFile("shift.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        // 12 hours of baseline, then 24 monitored hours; tenure shifts at hour 24.
        try SyntheticLog.write(to: url, hours: 36, perHour: 300, seed: 11, shiftFrom: 24)
        try await TestDatabase.withFresh { database in
            _ = try await SyntheticLog.ingest(url, into: database)
            let baseline = MonitoredData.Baseline.fixed(start: "2025-11-24T00:00:00Z", end: "2025-11-24T12:00:00Z")
            let monitor = try SyntheticLog.monitor(database, baseline: baseline, slices: [])
            let summary = try await monitor.run(now: SyntheticLog.start.addingTimeInterval(36 * 3_600), runID: nil)
            #expect(summary.windows.count == 36)
            let rows = try await database.client.query("""
                SELECT window_start_time, feature_name FROM drift_metrics
                WHERE drifted AND column_role = 'feature' AND slice_key IS NULL AND window_start_time >= '2025-11-24T12:00:00Z'
                ORDER BY window_start_time
                """).decode((Date, String).self)
            var flagged: [(hour: Int, feature: String)] = []
            for try await (start, feature) in rows {
                flagged.append((Int(start.timeIntervalSince(SyntheticLog.start) / 3_600), feature))
            }
            #expect(Set(flagged.map(\.feature)) == ["tenure"])
            #expect(flagged.map(\.hour) == Array(24..<36))
            // The same windows rolled up into 6-hour periods from their stored profiles, no rows read:
            // only the two periods after the shift drift, and only in tenure.
            let periods = try await monitor.rollUp(
                from: SyntheticLog.start.addingTimeInterval(12 * 3_600), to: SyntheticLog.start.addingTimeInterval(36 * 3_600), length: 6 * 3_600
            )
            #expect(periods.map(\.windows) == [6, 6, 6, 6])
            #expect(periods.map { $0.drift.filter { $0.drifted && $0.columnRole == "feature" }.map(\.featureName) } == [[], [], ["tenure"], ["tenure"]])
            #expect(periods.allSatisfy { $0.drift.first { $0.featureName == "tenure" }?.currentCount == 1_800 })
            // The documented query works as written.
            let top = try await database.client.query("""
                SELECT window_start_time, feature_name, drift_score, drift_threshold FROM drift_metrics WHERE drift_score > drift_threshold
                ORDER BY window_start_time DESC, drift_score DESC LIMIT 50;
                """).decode((Date, String, Double, Double).self)
            var count = 0
            for try await (_, _, score, threshold) in top {
                #expect(score > threshold)
                count += 1
            }
            #expect(count > 0)
        }
    }

    /// The baselines estimates must work with, and the first hour each can have a reference for.
    static let estimationBaselines: [(name: String, baseline: MonitoredData.Baseline, firstHour: Int)] = [
        ("fixed", .fixed(start: "2025-11-24T00:00:00Z", end: "2025-11-24T12:00:00Z"), 0),
        ("fixed, Platt scaling", .fixed(start: "2025-11-24T00:00:00Z", end: "2025-11-24T12:00:00Z"), 0),
        ("previous", .previous, 1),
        ("seasonal", .seasonal(period: WorkflowDuration(seconds: 7_200)), 2),
    ]

    @Test("before any label, every window with a reference has performance estimated from its scores, with bands, beside no realised value; labelled windows have both",
          arguments: ["fixed", "fixed, Platt scaling", "previous", "seasonal"])
    func estimatedBeforeLabels(_ baselineName: String) async throws {
        let labelled = SyntheticLog.temporaryFile("labelled.csv"), unlabelled = SyntheticLog.temporaryFile("unlabelled.csv")
        defer {
            try? FileManager.default.removeItem(at: labelled)
            try? FileManager.default.removeItem(at: unlabelled)
        }
        // 12 labelled baseline hours (labels agree with the prediction 80% of the time), then 12 hours whose labels have not come.
        try SyntheticLog.write(to: labelled, hours: 12, perHour: 200, seed: 5, labelled: true)
        try SyntheticLog.write(to: unlabelled, hours: 24, perHour: 200, seed: 6, fromHour: 12)
        try await TestDatabase.withFresh { database in
            _ = try await SyntheticLog.ingest(labelled, into: database)
            _ = try await SyntheticLog.ingest(unlabelled, into: database)
            let (_, baseline, firstHour) = try #require(Self.estimationBaselines.first { $0.name == baselineName })
            let monitor = try SyntheticLog.monitor(database, baseline: baseline, slices: ["plan"], calibration: baselineName.hasSuffix("Platt scaling") ? .platt : nil)
            _ = try await monitor.run(now: SyntheticLog.start.addingTimeInterval(24 * 3_600), runID: nil)
            let rows = try await database.client.query("""
                SELECT window_start_time, metric, value, lower, upper, estimated, baseline_value FROM performance_metrics
                WHERE slice_key IS NULL AND metric IN ('accuracy', 'f1', 'roc_auc')
                """).decode((Date, String, Double, Double?, Double?, Bool, Double?).self)
            var estimated: [Int: [String: (value: Double, lower: Double?, upper: Double?, baseline: Double?)]] = [:]
            var realised: [Int: Set<String>] = [:]
            for try await (start, metric, value, lower, upper, isEstimate, baselineValue) in rows {
                let hour = Int(start.timeIntervalSince(SyntheticLog.start) / 3_600)
                if isEstimate { estimated[hour, default: [:]][metric] = (value, lower, upper, baselineValue) } else { realised[hour, default: []].insert(metric) }
            }
            #expect(Set(estimated.keys) == Set(firstHour..<24), "\(estimated.keys.sorted())")
            #expect(Set(realised.keys) == Set(0..<12), "labels only in the first 12 hours: \(realised.keys.sorted())")
            for hour in 12..<24 {
                let accuracy = try #require(estimated[hour]?["accuracy"])
                let lower = try #require(accuracy.lower), upper = try #require(accuracy.upper)
                // The truth is 0.8: the estimate is near it and its band holds it. The log's
                // P(label | score) is a step at 0.5, which a sigmoid (Platt) can only approach.
                let tolerance = baselineName.hasSuffix("Platt scaling") ? 0.1 : 0.06
                #expect(abs(accuracy.value - 0.8) < tolerance && upper - lower < 0.4, "hour \(hour): \(accuracy)")
                if tolerance < 0.1 { #expect(lower < 0.8 && 0.8 < upper, "hour \(hour): \(accuracy)") }
                // The reference's realised accuracy: the baseline's, or (a moving reference) none once labels stop.
                if baselineName.hasPrefix("fixed") { #expect(accuracy.baseline.map { abs($0 - 0.8) < 0.03 } == true) }
                #expect(estimated[hour]?["f1"] != nil && estimated[hour]?["roc_auc"] != nil)
            }
            // Slices are estimated too, and rules read estimates by their own names.
            let slices = try await database.client.query("SELECT count(*)::int8 FROM performance_metrics WHERE estimated AND slice_key IS NOT NULL").decode(Int.self)
            for try await count in slices { #expect(count > 0) }
            let latest = try #require(try await MetricsStore(database: database).recentWindows(model: "churn", count: 1).first)
            #expect(latest.metrics["estimated_accuracy"] != nil && latest.metrics["accuracy"] == nil)
            let listing = try await MetricsStore(database: database).listing(.performance, model: "churn", since: .distantPast, slices: false, driftedOnly: false,
                                                                           estimated: true, limit: 1_000)
            #expect(listing.columns.suffix(4) == ["estimated", "lower", "upper", "served_by"])
            let plain = try await MetricsStore(database: database).listing(.performance, model: "churn", since: .distantPast, slices: false, driftedOnly: false, limit: 1_000)
            #expect(listing.rows.count > plain.rows.count)
        }
    }

    @Test("a no-drift control over 48 windows raises no hard severity")
    func noDriftControl() async throws {
        let url = SyntheticLog.temporaryFile("quiet.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try SyntheticLog.write(to: url, hours: 49, perHour: 300, seed: 29)
        try await TestDatabase.withFresh { database in
            _ = try await SyntheticLog.ingest(url, into: database)
            let monitor = try SyntheticLog.monitor(database, baseline: .previous, slices: [])
            _ = try await monitor.run(now: SyntheticLog.start.addingTimeInterval(49 * 3_600), runID: nil)
            let windows = try await MetricsStore(database: database).recentWindows(model: "churn", count: 48)
            #expect(windows.count == 48)
            let drifted = windows.flatMap(\.drift).filter { $0.drifted && $0.columnRole == "feature" }
            #expect(drifted.count <= 1, "\(drifted.map { "\($0.featureName) \($0.driftScore)" })")
            // No window comes near the hard rule of workflows/churn-monitor.yaml (40 % of features drifted).
            for window in windows {
                let tested = window.drift.filter { $0.columnRole == "feature" }
                #expect(tested.count == 4)
                #expect(Double(tested.filter(\.drifted).count) / Double(tested.count) < 0.4)
            }
        }
    }

    @Test("labels that arrive two days late change their windows' quality on the next pass, and only those windows are recomputed")
    func lateLabels() async throws {
        let url = SyntheticLog.temporaryFile("late.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try SyntheticLog.write(to: url, hours: 6, perHour: 200, seed: 5)
        try await TestDatabase.withFresh { database in
            _ = try await SyntheticLog.ingest(url, into: database)
            let monitor = try SyntheticLog.monitor(database, baseline: .previous)
            let now = SyntheticLog.start.addingTimeInterval(6 * 3_600)
            #expect(try await monitor.run(now: now, runID: nil).windows.count == 6)
            #expect(try await monitor.run(now: now, runID: nil).windows.isEmpty)
            let before = try await accuracyRows(database)
            #expect(before.isEmpty)

            // Two days later, labels for hours 2 and 4 arrive.
            let labels = SyntheticLog.temporaryFile("labels.csv")
            defer { try? FileManager.default.removeItem(at: labels) }
            var text = "request_id,label\n"
            for hour in [2, 4] {
                for row in 0..<200 { text += "r\(hour)-\(row),\(row % 3 == 0 ? 0 : 1)\n" }
            }
            try text.write(to: labels, atomically: true, encoding: .utf8)
            let report = try await LabelStore(database: database).load(try DataRecordReader(path: labels.path), model: "churn", actor: "test")
            #expect(report.rowsLoaded == 400)

            let later = try await monitor.run(now: now.addingTimeInterval(2 * 86_400), runID: nil)
            #expect(later.windows.map { Int($0.start.timeIntervalSince(SyntheticLog.start) / 3_600) } == [2, 4])
            let after = try await accuracyRows(database)
            #expect(after.map(\.hour) == [2, 4])
            #expect(after.allSatisfy { $0.labelled == 200 })
            let computations = try await database.client.query("SELECT computations FROM monitor_windows ORDER BY window_start").decode(Int.self)
            var counts: [Int] = []
            for try await count in computations { counts.append(count) }
            #expect(counts == [1, 1, 2, 1, 2, 1])
            // Every metric is also kept per slice value.
            let slices = try await database.client.query("""
                SELECT DISTINCT slice_value FROM performance_metrics WHERE slice_key = 'plan' AND metric = 'accuracy' ORDER BY 1
                """).decode(String.self)
            var values: [String] = []
            for try await value in slices { values.append(value) }
            #expect(values == ["basic", "pro", "team"])
        }
    }

    private func accuracyRows(_ database: Database) async throws -> [(hour: Int, labelled: Int)] {
        let rows = try await database.client.query("""
            SELECT window_start_time, labelled_rows FROM performance_metrics WHERE metric = 'accuracy' AND slice_key IS NULL AND NOT estimated ORDER BY 1
            """).decode((Date, Int).self)
        var result: [(Int, Int)] = []
        for try await (start, labelled) in rows { result.append((Int(start.timeIntervalSince(SyntheticLog.start) / 3_600), labelled)) }
        return result
    }

    @Test("a user's own table, with a training baseline table or a seasonal reference, and sampled windows")
    func userTable() async throws {
        try await TestDatabase.withFresh { database in
            try await database.client.query("""
                CREATE TABLE predictions (served_at timestamptz, rid text, yhat text, p float8, truth text, tenure float8, plan text)
                """)
            try await database.client.query("""
                CREATE TABLE training (tenure float8, plan text, yhat text, p float8, truth text)
                """)
            // Training: tenure ~ 24 ± 6 by a fixed pattern; served traffic: two days, the second with tenure 12 higher.
            try await database.client.query("""
                INSERT INTO training SELECT 24 + 6 * sin(g), CASE WHEN g % 3 = 0 THEN 'pro' ELSE 'basic' END, (g % 2)::text, (g % 100) / 100.0, (g % 2)::text
                FROM generate_series(1, 2000) g
                """)
            try await database.client.query("""
                INSERT INTO predictions
                SELECT '2026-03-01T00:00:00Z'::timestamptz + (g * 86.4) * interval '1 second', 'r' || g, (g % 2)::text, (g % 100) / 100.0, (g % 2)::text,
                       24 + 6 * sin(g) + CASE WHEN g > 1000 THEN 12 ELSE 0 END, CASE WHEN g % 3 = 0 THEN 'pro' ELSE 'basic' END
                FROM generate_series(0, 1999) g
                """)
            var data = MonitoredData(
                table: "predictions", timestamp: "served_at", prediction: "yhat", label: "truth", score: "p", requestID: "rid",
                problemType: .classification, features: [ColumnSchema(name: "tenure", type: .number), ColumnSchema(name: "plan", type: .category)],
                granularity: WorkflowDuration(seconds: 86_400), baseline: .table("training")
            )
            var options = WindowMonitor.Options()
            options.lookback = 400 * 86_400
            let now = Date(timeIntervalSince1970: 1_772_496_000) // 2026-03-03T00:00:00Z
            let summary = try await WindowMonitor(database: database, workflow: "t", model: "own", data: data, options: options, logger: EngineFixtures.logger)
                .run(now: now, runID: nil)
            #expect(summary.windows.map(\.rows) == [1_000, 1_000])
            #expect(summary.driftedFeatures == ["tenure"])
            let accuracy = try await database.client.query("""
                SELECT value, baseline_value FROM performance_metrics WHERE model = 'own' AND metric = 'accuracy' AND slice_key IS NULL AND NOT estimated ORDER BY window_start_time
                """).decode((Double, Double?).self)
            var values: [(Double, Double?)] = []
            for try await row in accuracy { values.append(row) }
            #expect(values.map(\.0) == [1, 1])
            #expect(values.allSatisfy { $0.1 == 1 })

            // The same data against the day before (seasonal, one day), half the rows sampled.
            data.baseline = .seasonal(period: WorkflowDuration(seconds: 86_400))
            options.sampleRate = 0.5
            let seasonal = try await WindowMonitor(database: database, workflow: "t", model: "own-seasonal", data: data, options: options, logger: EngineFixtures.logger)
                .run(now: now, runID: nil)
            #expect(seasonal.windows.count == 2)
            #expect(seasonal.driftedFeatures == ["tenure"])
            let rates = try await database.client.query("""
                SELECT DISTINCT sample_rate, comparison FROM drift_metrics WHERE model = 'own-seasonal'
                """).decode((Double, String).self)
            var seen: [(Double, String)] = []
            for try await row in rates { seen.append(row) }
            #expect(seen.count == 1 && seen.first?.0 == 0.5 && seen.first?.1 == "seasonal")
        }
    }

    @Test("monitor and evaluate run as workflow steps, and evaluate says hard when a shift persists")
    func stepsInAWorkflow() async throws {
        let url = SyntheticLog.temporaryFile("steps.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try SyntheticLog.write(to: url, hours: 30, perHour: 200, seed: 17, shiftFrom: 26, shift: 2)
        try await TestDatabase.withFresh { database in
            _ = try await SyntheticLog.ingest(url, into: database)
            _ = try await EngineFixtures.apply("""
                name: watch
                model: churn
                data:
                  timestamp: ts
                  prediction: prediction
                  score: score
                  label: label
                  granularity: 1h
                  baseline: { start: "2025-11-24T00:00:00Z", end: "2025-11-25T00:00:00Z" }
                  features:
                    amount: { type: number, min: 0 }
                    tenure: { type: number }
                    tickets: { type: integer, min: 0 }
                    plan: { type: category, allowed: [basic, pro, team] }
                  metrics:
                    positive_share: "avg(CASE WHEN prediction = '1' THEN 1.0 ELSE 0 END)"
                    mean_tenure: "avg((features ->> 'tenure')::float8)"
                steps:
                  monitor:
                    uses: monitor
                    with: { lookback: 400d, windows: 100 }
                  evaluate:
                    uses: evaluate
                    needs: monitor
                    with:
                      soft: { features: [tenure] }
                      hard: { drift_share: 0.25 }
                      persistence: { windows: 2, of: 3 }
                """, to: database)
            let id = try await RunLauncher(database: database).start("watch", trigger: .init(kind: .manual, actor: "t")).runID
            let run = try await EngineFixtures.withWorkers(database) {
                // Thirty windows of profiling in a debug build, beside the rest of the suite: give it time.
                try await EngineFixtures.waitForRun(id, in: database, timeout: .seconds(120))
            }
            #expect(run.state == .succeeded)
            let steps = try await RunStore(database: database).steps(ofRun: id)
            let monitor = steps.first { $0.name == "monitor" }!, evaluate = steps.first { $0.name == "evaluate" }!
            #expect(monitor.outputs?["windows_computed"] == .number(30))
            #expect(monitor.outputs?["drifted_features"] == .array([.string("tenure")]))
            #expect(evaluate.outputs?["severity"] == .string("hard"))
            guard case let .array(reasons)? = evaluate.outputs?["reasons"], case let .string(first)? = reasons.first else {
                Issue.record("evaluate gave no reasons")
                return
            }
            #expect(first.hasPrefix("hard: drift_share in "))
            #expect(first.contains("tenure"))
            // Business metrics declared in the workflow, per window: the tenure shift shows there too.
            let business = try await database.client.query("""
                SELECT window_start_time, metric, value, row_count FROM business_metrics ORDER BY window_start_time, metric
                """).decode((Date, String, Double, Int).self)
            var shares: [Double] = [], tenures: [Double] = []
            for try await (_, metric, value, rows) in business {
                #expect(rows == 200)
                if metric == "positive_share" { shares.append(value) } else { tenures.append(value) }
            }
            #expect(shares.count == 30 && shares.allSatisfy { (0.3...0.7).contains($0) })
            #expect(tenures.count == 30 && tenures.prefix(26).allSatisfy { abs($0 - 24) < 2 } && tenures.suffix(4).allSatisfy { abs($0 - 36) < 2 })
        }
    }
}
