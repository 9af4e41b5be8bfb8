import Foundation
import Testing
import VigilEngine
import VigilStatistics
import VigilStore
import VigilTesting
import VigilWorkflow

/// Hourly logs whose rows carry a 16-dimensional embedding `vec` and a number `amount`.
private enum EmbeddedLog {
    static let dimension = 16
    static let features = [ColumnSchema(name: "amount", type: .number), ColumnSchema(name: "vec", type: .embedding, dimension: dimension)]

    /// JSON lines; from hour `shiftFrom` on, the first three dimensions move by `shift` σ (in the
    /// rows whose `region` is one of `shiftedRegions`, when the rows alternate between `regions`).
    static func write(
        to url: URL, hours: Int, perHour: Int, shiftFrom: Int, shift: Double, seed: UInt64, extra: [String] = [],
        regions: [String] = [], shiftedRegions: Set<String> = []
    ) throws {
        var generator = SeededGenerator(seed: seed)
        let formatter = ISO8601DateFormatter()
        var lines: [String] = []
        for hour in 0..<hours {
            for row in 0..<perHour {
                let ts = SyntheticLog.start.addingTimeInterval(Double(hour) * 3_600 + Double(row) * 3_600 / Double(perHour))
                let region = regions.isEmpty ? nil : regions[row % regions.count]
                let moved = hour >= shiftFrom && (region.map(shiftedRegions.contains) ?? true)
                let vector = (0..<dimension).map { index in generator.normal() + (moved && index < 3 ? shift : 0) }
                let score = generator.uniform()
                lines.append("""
                    {"request_id": "r\(hour)-\(row)", "ts": "\(formatter.string(from: ts))", "prediction": "\(score > 0.5 ? 1 : 0)", "score": \(score), \
                    "amount": \(generator.normal(mean: 50, deviation: 10)), \(region.map { "\"region\": \"\($0)\", " } ?? "")\
                    "vec": [\(vector.map { String($0) }.joined(separator: ", "))]}
                    """)
            }
        }
        try (lines + extra).joined(separator: "\n").appending("\n").write(to: url, atomically: true, encoding: .utf8)
    }

    static func data(baselineHours: Int, sliced: Bool = false) -> MonitoredData {
        let format = { (hour: Int) in ISO8601DateFormatter().string(from: SyntheticLog.start.addingTimeInterval(Double(hour) * 3_600)) }
        return MonitoredData(
            timestamp: "ts", prediction: "prediction", score: "score", problemType: .classification,
            features: sliced ? features + [ColumnSchema(name: "region", type: .category)] : features,
            granularity: WorkflowDuration(seconds: 3_600), baseline: .fixed(start: format(0), end: format(baselineHours)), slices: sliced ? ["region"] : []
        )
    }
}

@Suite("Embedding features: ingest, storage and drift in the monitor", .timeLimit(.minutes(4)))
struct EmbeddingMonitoringTests {
    @Test("embeddings load as real[] and bad ones are quarantined with their reason; MMD flags the shifted windows and no earlier one, beside the scalar feature")
    func embeddingDrift() async throws {
        let url = SyntheticLog.temporaryFile("embedded.jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        let late = "2025-11-24T01:30:00Z"
        try EmbeddedLog.write(to: url, hours: 8, perHour: 200, shiftFrom: 6, shift: 0.6, seed: 21, extra: [
            #"{"request_id": "bad-1", "ts": "\#(late)", "prediction": "1", "vec": [1, 2, 3]}"#,
            #"{"request_id": "bad-2", "ts": "\#(late)", "prediction": "1", "vec": [\#((0..<15).map { _ in "0.5" }.joined(separator: ", ")), "x"]}"#,
            #"{"request_id": "bad-3", "ts": "\#(late)", "prediction": "1", "vec": "not an array"}"#,
            #"{"request_id": "none", "ts": "\#(late)", "prediction": "1", "amount": 40}"#,
        ])
        try await TestDatabase.withFresh { database in
            let report = try await InferenceIngest(database: database).load(
                try DataRecordReader(path: url.path), options: .init(model: "embedded", features: EmbeddedLog.features, actor: "test")
            )
            #expect(report.rowsLoaded == 1_601 && report.quarantined == 3)
            #expect(report.quarantineSample.map(\.reason) == [
                "feature 'vec': 3 values, but the workflow declares dimension 16",
                "feature 'vec': value 16 is not a finite number",
                "feature 'vec': 'not an array' is not an array of numbers",
            ])
            var stored: [(Int?, String)] = []
            for try await row in try await database.client.query("""
                SELECT array_length(embeddings, 1), features::text FROM inference_log WHERE request_id IN ('r0-0', 'none') ORDER BY request_id DESC
                """).decode((Int?, String).self) { stored.append(row) }
            #expect(stored.map(\.0) == [16, nil])
            #expect(stored.allSatisfy { !$0.1.contains("vec") }, "embeddings stay out of the features JSON: \(stored)")

            // In a CSV file an embedding is a field holding the JSON array.
            let csv = SyntheticLog.temporaryFile("embedded.csv")
            defer { try? FileManager.default.removeItem(at: csv) }
            let vector = (0..<16).map { String(Double($0) / 4) }.joined(separator: ",")
            try "request_id,ts,prediction,vec\nc1,\(late),1,\"[\(vector)]\"\nc2,\(late),0,\"[1,2]\"\n".write(to: csv, atomically: true, encoding: .utf8)
            let fromCSV = try await InferenceIngest(database: database).load(
                try DataRecordReader(path: csv.path), options: .init(model: "embedded-csv", features: EmbeddedLog.features, actor: "test")
            )
            #expect(fromCSV.rowsLoaded == 1 && fromCSV.quarantineSample.map(\.reason) == ["feature 'vec': 2 values, but the workflow declares dimension 16"])
            let values = try await database.client.query("SELECT embeddings FROM inference_log WHERE model = 'embedded-csv'").decode([Float].self).first { _ in true }
            #expect(values == (0..<16).map { Float($0) / 4 })

            var options = WindowMonitor.Options()
            options.maximumWindows = 100
            options.lookback = 4 * 86_400
            options.embedding.options.permutations = 100
            options.embedding.options.maximumRows = 300
            let monitor = try WindowMonitor(
                database: database, workflow: "test", model: "embedded", data: EmbeddedLog.data(baselineHours: 4), options: options, logger: EngineFixtures.logger
            )
            _ = try await monitor.run(now: SyntheticLog.start.addingTimeInterval(9 * 3_600), runID: nil)
            let windows = Array(try await MetricsStore(database: database).recentWindows(model: "embedded", count: 8).reversed())
            #expect(windows.count == 8)
            for (hour, window) in windows.enumerated() {
                let vec = window.drift.first { $0.featureName == "vec" }
                #expect(vec?.method == "mmd" && vec?.columnRole == "feature" && vec?.referenceCount == 300 && vec?.currentCount == 200, "hour \(hour): \(String(describing: vec))")
                #expect(vec?.drifted == (hour >= 6), "hour \(hour): \(String(describing: vec))")
                #expect(window.drift.contains { $0.featureName == "amount" && !$0.drifted })
            }
            // The window with the rows set aside counts them against the embedding, and the row without one as missing.
            let integrity = try #require(windows[1].integrity.first { $0.featureName == "vec" })
            #expect(integrity.quarantinedRows == 3 && integrity.missingCount == 1 && integrity.rowCount == 201)
        }
    }

    @Test("with slices, each slice's embedding is compared with the same slice of the baseline: only eu's windows drift, and a second pass reuses the stored slices")
    func embeddingDriftPerSlice() async throws {
        let url = SyntheticLog.temporaryFile("embedded-regions.jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try EmbeddedLog.write(to: url, hours: 8, perHour: 300, shiftFrom: 6, shift: 0.8, seed: 23, regions: ["eu", "us"], shiftedRegions: ["eu"])
        try await TestDatabase.withFresh { database in
            let data = EmbeddedLog.data(baselineHours: 4, sliced: true)
            _ = try await InferenceIngest(database: database).load(
                try DataRecordReader(path: url.path), options: .init(model: "embedded", features: data.features, actor: "test")
            )
            var options = WindowMonitor.Options()
            options.maximumWindows = 100
            options.lookback = 4 * 86_400
            options.embedding.options.permutations = 100
            options.embedding.options.maximumRows = 300
            let monitor = try WindowMonitor(database: database, workflow: "test", model: "embedded", data: data, options: options, logger: EngineFixtures.logger)
            _ = try await monitor.run(now: SyntheticLog.start.addingTimeInterval(7 * 3_600), runID: nil)
            // The baseline keeps each slice's drawn embeddings; the last window is computed from it as stored.
            let kept = try await database.client.query("""
                SELECT s->>'value', (s->'embeddings'->'vec'->>'count')::int8 FROM baseline_profiles, jsonb_array_elements(sample->'slices') AS s
                WHERE model = 'embedded' ORDER BY 1
                """).decode((String, Int?).self).reduce(into: [(String, Int?)]()) { $0.append($1) }
            #expect(kept.map(\.0) == ["eu", "us"] && kept.map(\.1) == [300, 300], "\(kept)")
            _ = try await monitor.run(now: SyntheticLog.start.addingTimeInterval(9 * 3_600), runID: nil)
            let slices = try await MetricsStore(database: database).recentSliceWindows(model: "embedded", key: "region", count: 8, since: .distantPast)
            for region in ["eu", "us"] {
                let windows = Array((slices[region] ?? []).reversed())
                #expect(windows.count == 8, "\(region)")
                for (hour, window) in windows.enumerated() {
                    let vec = window.drift.first { $0.featureName == "vec" }
                    #expect(vec?.method == "mmd" && vec?.sliceValue == region && vec?.currentCount == 150, "\(region) hour \(hour): \(String(describing: vec))")
                    #expect(vec?.drifted == (region == "eu" && hour >= 6), "\(region) hour \(hour): \(String(describing: vec))")
                }
            }
        }
    }
}
