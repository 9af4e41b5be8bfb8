import Foundation
import Testing
import VigilEngine
import VigilStatistics
import VigilStore
import VigilTesting
import VigilWorkflow

/// Online detectors as `evaluate` rules: the same detections as the statistics target on the same
/// stream, however many passes (each on a worker started afresh) the stream is fed in.
@Suite("Online detectors in a workflow", .timeLimit(.minutes(3)))
struct OnlineDetectorTests {
    static let workflow = """
        name: detect
        model: churn
        data:
          timestamp: ts
          prediction: prediction
          score: score
          label: label
          granularity: 1h
          baseline: previous
          features:
            amount: { type: number, min: 0 }
            tenure: { type: number }
            tickets: { type: integer, min: 0 }
            plan: { type: category, allowed: [basic, pro, team] }
        steps:
          evaluate:
            uses: evaluate
            with:
              soft: { detector: { method: ddm, horizon: 36500d } }
              hard: { detector: { method: adwin, stream: tenure, horizon: 36500d } }
        """

    /// Runs the workflow once on a worker of its own and returns the evaluate step's reasons.
    static func pass(_ database: Database) async throws -> [String] {
        let id = try await RunLauncher(database: database).start("detect", trigger: .init(kind: .manual, actor: "t")).runID
        let run = try await EngineFixtures.withWorkers(database) { try await EngineFixtures.waitForRun(id, in: database, timeout: .seconds(60)) }
        #expect(run.state == .succeeded)
        let evaluate = try await RunStore(database: database).steps(ofRun: id).first { $0.name == "evaluate" }
        guard case let .array(reasons)? = evaluate?.outputs?["reasons"] else { return [] }
        return reasons.compactMap { if case let .string(text) = $0 { text } else { nil } }
    }

    static func positions(_ database: Database, detector suffix: String) async throws -> [Int] {
        let rows = try await database.client.query("""
            SELECT position FROM detector_detections WHERE model = 'churn' AND detector LIKE '%' || \(suffix) ORDER BY position
            """).decode(Int.self)
        var found: [Int] = []
        for try await position in rows { found.append(position) }
        return found
    }

    @Test("DDM over labels arriving in four batches and ADWIN over a feature ingested in two give the statistics target's detection positions; each pass holds only when it found one")
    func sameDetectionsAcrossPasses() async throws {
        let early = SyntheticLog.temporaryFile("early.csv"), late = SyntheticLog.temporaryFile("late.csv")
        defer { for url in [early, late] { try? FileManager.default.removeItem(at: url) } }
        // 20 hours of 200 rows; tenure moves up 2σ from hour 14. The rows arrive in two loads.
        try SyntheticLog.write(to: early, hours: 10, perHour: 200, seed: 41, shiftFrom: 14, shift: 2)
        try SyntheticLog.write(to: late, hours: 20, perHour: 200, seed: 41, shiftFrom: 14, shift: 2, fromHour: 10)
        try await TestDatabase.withFresh { database in
            _ = try await EngineFixtures.apply(Self.workflow, to: database)
            _ = try await SyntheticLog.ingest(early, into: database)
            var reasons = try await Self.pass(database)
            #expect(!reasons.contains { $0.hasPrefix("soft:") }, "no label has arrived yet: \(reasons)")
            _ = try await SyntheticLog.ingest(late, into: database)
            reasons += try await Self.pass(database)

            var predictions: [(request: String, prediction: String)] = [], tenures: [Double] = []
            for try await (request, prediction, tenure) in try await database.client.query("""
                SELECT request_id, prediction, (features ->> 'tenure')::float8 FROM inference_log WHERE model = 'churn' ORDER BY ts
                """).decode((String, String, Double).self) {
                predictions.append((request, prediction))
                tenures.append(tenure)
            }
            #expect(predictions.count == 4_000)
            var adwin = AdaptiveWindowing()
            let expectedFeature = adwin.detections(in: tenures)
            #expect(!expectedFeature.isEmpty && expectedFeature.allSatisfy { $0 >= 1_600 }, "ADWIN on the shifted tenure: \(expectedFeature)")
            let storedFeature = try await Self.positions(database, detector: ":tenure")
            #expect(storedFeature == expectedFeature)
            #expect(reasons.contains { $0.hasPrefix("hard: detector.adwin") })

            // Labels in four batches, every fourth prediction in each, so arrival order is not time
            // order: the first two batches err 10% of the time, the last two 35%.
            var generator = SeededGenerator(seed: 7)
            var stream: [Double] = []
            var passes: [(range: Range<Int>, soft: Bool)] = []
            for batch in 0..<4 {
                let errorRate = batch < 2 ? 0.1 : 0.35
                var text = "request_id,label\n"
                for (index, row) in predictions.enumerated() where index % 4 == batch {
                    let wrong = generator.uniform() < errorRate
                    text += "\(row.request),\(wrong ? (row.prediction == "1" ? "0" : "1") : row.prediction)\n"
                    stream.append(wrong ? 1 : 0)
                }
                let labels = SyntheticLog.temporaryFile("labels-\(batch).csv")
                defer { try? FileManager.default.removeItem(at: labels) }
                try text.write(to: labels, atomically: true, encoding: .utf8)
                _ = try await LabelStore(database: database).load(try DataRecordReader(path: labels.path), model: "churn", actor: "test")
                let reasons = try await Self.pass(database)
                passes.append(((stream.count - 1_000)..<stream.count, reasons.contains { $0.hasPrefix("soft: detector.ddm") }))
            }
            var ddm = DriftDetectionMethod()
            let expectedErrors = ddm.detections(in: stream)
            #expect(expectedErrors.contains { $0 >= 2_000 }, "DDM on the error stream: \(expectedErrors)")
            let storedErrors = try await Self.positions(database, detector: ":errors")
            #expect(storedErrors == expectedErrors)
            for pass in passes {
                #expect(pass.soft == expectedErrors.contains { pass.range.contains($0) }, "pass over \(pass.range)")
            }
            // The state is saved once per model, version and rule, at the end of the stream.
            let saved = try await database.client.query("""
                SELECT detector, position FROM detector_states WHERE model = 'churn' ORDER BY detector
                """).decode((String, Int).self)
            var states: [String: Int] = [:]
            for try await (detector, position) in saved { states[detector] = position }
            #expect(states == ["detect/evaluate/hard/adwin:tenure": 4_000, "detect/evaluate/soft/ddm:errors": 4_000])
        }
    }

    @Test("a detector over a category, or ddm over a regression's errors, fails the step with a clear reason")
    func refusedRules() async throws {
        try await TestDatabase.withFresh { database in
            let yaml = Self.workflow.replacingOccurrences(of: "stream: tenure", with: "stream: plan")
            _ = try await EngineFixtures.apply(yaml, to: database)
            let id = try await RunLauncher(database: database).start("detect", trigger: .init(kind: .manual, actor: "t")).runID
            let run = try await EngineFixtures.withWorkers(database) { try await EngineFixtures.waitForRun(id, in: database) }
            #expect(run.state == .failed)
            let evaluate = try await RunStore(database: database).steps(ofRun: id).first { $0.name == "evaluate" }
            #expect(evaluate?.error?.contains("'plan' is not a numeric feature") == true, "\(evaluate?.error ?? "no error")")
        }
    }
}
