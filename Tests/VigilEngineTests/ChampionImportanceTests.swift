import Foundation
import Testing
import VigilEngine
import VigilStatistics
import VigilStore
import VigilTesting
import VigilWorkflow

/// Hourly logs of four standard normal features `f1`…`f4` whose labels follow `f1 + 0.3·f2`, for
/// the champion's importances among a window's drivers.
private enum ImportanceLog {
    static let features = (1...4).map { ColumnSchema(name: "f\($0)", type: .number) }

    struct Row {
        let id: String
        let ts: Date
        let values: [Double]
        let label: String
    }

    /// `hours` × `perHour` rows; from hour `changeFrom` on, `change` rewrites a row's values
    /// before its label is drawn.
    static func rows(hours: Int, perHour: Int, seed: UInt64, changeFrom: Int, change: (inout [Double]) -> Void) -> [Row] {
        var generator = SeededGenerator(seed: seed)
        var rows: [Row] = []
        for hour in 0..<hours {
            for row in 0..<perHour {
                var values = (0..<4).map { _ in generator.normal() }
                if hour >= changeFrom { change(&values) }
                let label = values[0] + 0.3 * values[1] + 0.3 * generator.normal() > 0 ? "1" : "0"
                let ts = SyntheticLog.start.addingTimeInterval(Double(hour) * 3_600 + Double(row) * 3_600 / Double(perHour))
                rows.append(Row(id: "r\(hour)-\(row)", ts: ts, values: values, label: label))
            }
        }
        return rows
    }

    /// Logs `rows` with `predict`'s answers as model `importance`, and their labels when `labelled`.
    static func log(_ rows: [Row], labelled: Bool, predict: (Row) -> String, into database: Database) async throws {
        let inferences = SyntheticLog.temporaryFile("importance.csv"), labels = SyntheticLog.temporaryFile("importance-labels.csv")
        defer {
            try? FileManager.default.removeItem(at: inferences)
            try? FileManager.default.removeItem(at: labels)
        }
        let formatter = ISO8601DateFormatter()
        var text = "request_id,ts,prediction," + features.map(\.name).joined(separator: ",") + "\n"
        for row in rows {
            text += "\(row.id),\(formatter.string(from: row.ts)),\(predict(row)),\(row.values.map { String($0) }.joined(separator: ","))\n"
        }
        try text.write(to: inferences, atomically: true, encoding: .utf8)
        _ = try await InferenceIngest(database: database).load(
            try DataRecordReader(path: inferences.path), options: .init(model: "importance", features: features, actor: "test")
        )
        guard labelled else { return }
        try ("request_id,label\n" + rows.map { "\($0.id),\($0.label)" }.joined(separator: "\n") + "\n").write(to: labels, atomically: true, encoding: .utf8)
        _ = try await LabelStore(database: database).load(try DataRecordReader(path: labels.path), model: "importance", actor: "test")
    }

    static func data(baselineHours: Int) -> MonitoredData {
        let format = { (hour: Int) in ISO8601DateFormatter().string(from: SyntheticLog.start.addingTimeInterval(Double(hour) * 3_600)) }
        return MonitoredData(
            timestamp: "ts", prediction: "prediction", problemType: .classification, features: features,
            granularity: WorkflowDuration(seconds: 3_600), baseline: .fixed(start: format(0), end: format(baselineHours))
        )
    }

    /// The windows' drivers as stored, oldest window first.
    static func windows(_ hours: Int, in database: Database) async throws -> [WindowReport] {
        Array(try await MetricsStore(database: database).recentWindows(model: "importance", count: hours).reversed())
    }

    /// The driver of `feature` in `window`.
    static func driver(_ feature: String, in window: WindowReport) throws -> DriftDriver {
        try #require(window.drivers.first { $0.feature == feature }, "\(window.drivers)")
    }
}

@Suite("The champion's permutation importances among a drifted window's drivers", .timeLimit(.minutes(4)))
struct ChampionImportanceTests {
    @Test("a built-in champion scored in process: the feature it relies on, squeezed, leads the importance share and the ranking; an unused feature that shifts leads only the drift share; windows without drift are not scored")
    func builtinChampion() async throws {
        // From hour 6, f1 (the model's main input) shrinks to a tenth of its spread, and f3 (unused) moves by 1 σ.
        let rows = ImportanceLog.rows(hours: 8, perHour: 300, seed: 21, changeFrom: 6) { values in
            values[0] *= 0.1
            values[2] += 1
        }
        let artifacts = try ServingFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: artifacts) }
        try await TestDatabase.withFresh { database in
            let training = rows.prefix(4 * 300).map { row in
                ServingData.LabelledRow(
                    requestID: row.id, ts: row.ts, features: Dictionary(uniqueKeysWithValues: zip(ImportanceLog.features.map(\.name), row.values.map(JSONValue.number))),
                    label: row.label, prediction: nil, latency: nil
                )
            }
            let (model, _, count) = try BuiltinModel.train(rows: training, features: ImportanceLog.features.map(\.name), classification: true, l2: 1)
            let (uri, checksum) = try model.write(into: artifacts)
            _ = try await ModelRegistry(database: database).register(
                NewModelVersion(artifactURI: uri, checksum: checksum, framework: "vigil-builtin/logistic_regression", trainingRows: count),
                of: "importance", alias: "champion", actor: "test", now: SyntheticLog.start.addingTimeInterval(-3_600)
            )
            try await ImportanceLog.log(rows, labelled: true, predict: { row in
                model.predict(Dictionary(uniqueKeysWithValues: zip(ImportanceLog.features.map(\.name), row.values.map(JSONValue.number)))).prediction
            }, into: database)

            var options = WindowMonitor.Options()
            options.maximumWindows = 100
            options.lookback = 4 * 86_400
            var multivariate = MultivariateOptions()
            multivariate.sampleRows = 300
            multivariate.championImportance = ChampionImportanceOptions()
            options.multivariate = multivariate
            let monitor = try WindowMonitor(
                database: database, workflow: "test", model: "importance", data: ImportanceLog.data(baselineHours: 4), options: options, logger: EngineFixtures.logger
            )
            _ = try await monitor.run(now: SyntheticLog.start.addingTimeInterval(9 * 3_600), runID: nil)
            let windows = try await ImportanceLog.windows(8, in: database)
            #expect(windows.count == 8)
            for window in windows.prefix(6) where !window.drift.contains(where: { $0.columnRole == "feature" && $0.drifted }) {
                #expect(window.drivers.allSatisfy { $0.importanceShare == nil && $0.referenceImportance == nil }, "\(window.drivers)")
            }
            for window in windows.suffix(2) {
                let f1 = try ImportanceLog.driver("f1", in: window), f3 = try ImportanceLog.driver("f3", in: window)
                #expect(window.drivers.allSatisfy { $0.importanceShare != nil && $0.currentImportance != nil }, "\(window.drivers)")
                // Shuffling f1 costs the champion about a third of its accuracy on the reference, and little once f1 barely varies.
                #expect((f1.referenceImportance ?? 0) > 0.2, "\(f1)")
                #expect((f1.currentImportance ?? 1) < (f1.referenceImportance ?? 0) / 3, "\(f1)")
                #expect(abs(f3.referenceImportance ?? 1) < 0.03 && abs(f3.currentImportance ?? 1) < 0.03, "\(f3)")
                // With f1 squeezed, the labels follow f2 more, and so do the champion's right answers.
                let f2 = try ImportanceLog.driver("f2", in: window)
                #expect((f2.currentImportance ?? 0) > 3 * (f2.referenceImportance ?? 1), "\(f2)")
                #expect((f1.importanceShare ?? 0) > 0.5 && (f3.importanceShare ?? 1) < 0.05, "\(window.drivers)")
                // f3's own test moved most, but the champion never read it: f1 leads.
                #expect(f3.driftShare > f1.driftShare, "\(window.drivers)")
                #expect(window.drivers.first?.feature == "f1", "\(window.drivers)")
                #expect(abs(window.drivers.map(\.share).reduce(0, +) - 1) < 1e-9)
            }
        }
    }

    /// A team's scorer for an external model: `f1 > 0`, one answer per request of the replay file.
    static let scorer = #"""
        import argparse, csv
        parser = argparse.ArgumentParser()
        for name in ["--model", "--version", "--artifact-uri", "--framework", "--input", "--manifest", "--output"]:
            parser.add_argument(name, required=True)
        args = parser.parse_args()
        with open(args.input, newline="") as replay, open(args.output, "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["request_id", "prediction"])
            for row in csv.DictReader(replay):
                writer.writerow([row["request_id"], "1" if row["f1"] and float(row["f1"]) > 0 else "0"])
        """#

    @Test("an external champion scored by the workflow's program, without labels: its answers stop moving with f1 once f1 shifts past its threshold, and that change is all f1's")
    func programScorerWithoutLabels() async throws {
        let rows = ImportanceLog.rows(hours: 7, perHour: 300, seed: 5, changeFrom: 5) { values in
            values[0] += 2
            values[2] += 1
        }
        let folder = try ServingFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let script = folder.appendingPathComponent("score.py")
        try Self.scorer.write(to: script, atomically: true, encoding: .utf8)
        try await TestDatabase.withFresh { database in
            _ = try await ModelRegistry(database: database).register(
                NewModelVersion(artifactURI: "s3://models/importance/1", framework: "sklearn"), of: "importance", alias: "champion", actor: "test",
                now: SyntheticLog.start.addingTimeInterval(-3_600)
            )
            try await ImportanceLog.log(rows, labelled: false, predict: { $0.values[0] > 0 ? "1" : "0" }, into: database)
            _ = try await EngineFixtures.apply("""
                name: importance-watch
                model: importance
                data:
                  timestamp: ts
                  prediction: prediction
                  granularity: 1h
                  baseline: { start: "2025-11-24T00:00:00Z", end: "2025-11-24T04:00:00Z" }
                  features: { f1: { type: number }, f2: { type: number }, f3: { type: number }, f4: { type: number } }
                steps:
                  monitor:
                    uses: monitor
                    with:
                      lookback: 400d
                      windows: 100
                      multivariate: { sample_rows: 200, champion_importance: { repeats: 3, scorer: { command: [python3, '\(script.path)'] } } }
                """, to: database)
            let (run, records) = try await EscalationFixtures.run("importance-watch", in: database, channels: ChannelDirectory(channels: [:]))
            #expect(run.state == .succeeded, "\(records.values.compactMap(\.error))")
            let windows = try await ImportanceLog.windows(7, in: database)
            for window in windows.suffix(2) {
                let f1 = try ImportanceLog.driver("f1", in: window)
                // Against its own answers, shuffling f1 flips about half of them on the reference, and few once f1 sits at +2 σ.
                #expect((f1.referenceImportance ?? 0) > 0.4 && (f1.currentImportance ?? 1) < 0.1, "\(f1)")
                #expect(f1.importanceShare == 1, "\(window.drivers)")
                for other in ["f2", "f3", "f4"] {
                    let driver = try ImportanceLog.driver(other, in: window)
                    #expect(driver.referenceImportance == 0 && driver.currentImportance == 0 && driver.importanceShare == 0, "\(driver)")
                }
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("vigil-importance-") }
            #expect(leftovers.isEmpty, "\(leftovers)")
        }
    }

    @Test("champion_importance is checked when the workflow is read")
    func settingsAreChecked() throws {
        let decode = { (json: String) in try JSONDecoder().decode(MultivariateOptions.self, from: Data(json.utf8)) }
        #expect(try decode(#"{"champion_importance": true}"#).championImportance == ChampionImportanceOptions())
        #expect(try decode(#"{"champion_importance": {"repeats": 2, "scorer": {"command": ["python3", "s.py"]}}}"#).championImportance?.scorer == ["python3", "s.py"])
        #expect(throws: DecodingError.self) { try decode(#"{"champion_importance": false}"#) }
        #expect(throws: DecodingError.self) { try decode(#"{"champion_importance": {"repeats": 0}}"#) }
        #expect(throws: DecodingError.self) { try decode(#"{"champion_importance": {"scorer": {"command": []}}}"#) }
    }
}
