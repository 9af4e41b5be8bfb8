import Foundation
import Testing
@testable import VigilEngine
import VigilStatistics
import VigilStore
import VigilTesting
import VigilWorkflow

/// Windows a canary shares with the champion: each gets its own rows, tagged with its version,
/// rules judge the champion in its own numbers, and `canary_drop` compares the two.
@Suite("Per-version windows", .timeLimit(.minutes(3)))
struct VariantWindowTests {
    /// Hour 0: champion v1 alone, right 90% of the time. Hour 1: the same champion on 70% of the
    /// requests, canary v2 on the rest, right 60% of the time.
    static func write(to url: URL) throws {
        var generator = SeededGenerator(seed: 2026_1205)
        var text = "request_id,ts,model_version,role,prediction,score,latency_ms,error,amount,tenure,tickets,plan,label\n"
        for hour in 0..<2 {
            for row in 0..<1_000 {
                let ts = SyntheticLog.start.addingTimeInterval(Double(hour) * 3_600 + Double(row) * 3.6)
                let canary = hour == 1 && row % 10 < 3
                let score = generator.uniform()
                let prediction = score > 0.5 ? 1 : 0
                let right = generator.uniform() < (canary ? 0.6 : 0.9)
                text += "r\(hour)-\(row),\(ISO8601DateFormatter().string(from: ts)),\(canary ? 2 : 1),\(canary ? "canary" : "champion"),"
                    + "\(prediction),\(score),\(canary ? 40 : 20),false,80,24,2,basic,\(right ? prediction : 1 - prediction)\n"
            }
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test("a window champion and canary shared has rows of each, with versions; rules read the champion's; canary_drop holds on the canary's worse accuracy and latency")
    func sharedWindow() async throws {
        let url = SyntheticLog.temporaryFile("variants.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try Self.write(to: url)
        try await TestDatabase.withFresh { database in
            _ = try await SyntheticLog.ingest(url, into: database)
            let monitor = try SyntheticLog.monitor(database, baseline: .previous, slices: [])
            _ = try await monitor.run(now: SyntheticLog.start.addingTimeInterval(3 * 3_600), runID: nil)

            var served: [String: Set<String>] = [:]
            for try await (hour, variant, version) in try await database.client.query("""
                SELECT extract(hour FROM window_start_time)::int8, coalesce(variant, '-'), coalesce(model_version, '-')
                FROM performance_metrics WHERE metric = 'accuracy' AND NOT estimated AND slice_key IS NULL
                """).decode((Int, String, String).self) {
                served["\(hour)", default: []].insert("\(variant) \(version)")
            }
            #expect(served["0"] == ["- 1"], "one version served hour 0: \(served)")
            #expect(served["1"] == ["- -", "champion 1", "canary 2"], "\(served)")

            let windows = try await MetricsStore(database: database).recentWindows(model: "churn", count: 2)
            let shared = try #require(windows.first)
            let champion = try #require(shared.metrics["accuracy"]), canary = try #require(shared.canary["accuracy"])
            #expect(champion.variant == "champion" && champion.rowCount == 700 && abs(champion.value - 0.9) < 0.05)
            #expect(canary.modelVersion == "2" && canary.rowCount == 300 && abs(canary.value - 0.6) < 0.08)
            #expect(shared.metrics["latency_p95"]?.value == 20 && shared.canary["latency_p95"]?.value == 40)
            #expect(windows.last?.canary.isEmpty == true && windows.last?.metrics["accuracy"]?.modelVersion == "1")

            let rules = try JSONDecoder().decode(RuleSet.self, from: Data(#"""
                {"canary_drop": {"metric": "accuracy", "by": 0.1}}
                """#.utf8))
            let accuracy = try #require(rules.rules.first).holds(shared)
            #expect(accuracy?.contains("v2 on canary, v1 champion") == true, "\(accuracy ?? "nil")")
            let latency = try JSONDecoder().decode(RuleSet.self, from: Data(#"{"canary_drop": {"metric": "latency_p95", "by": 10}}"#.utf8))
            #expect(latency.rules.first?.holds(shared) != nil)
            let strict = try JSONDecoder().decode(RuleSet.self, from: Data(#"{"canary_drop": {"metric": "accuracy", "by": 0.5}}"#.utf8))
            #expect(strict.rules.first?.holds(shared) == nil)
            #expect(rules.rules.first?.holds(try #require(windows.last)) == nil, "no canary in hour 0")

            // Each labelled window's reliability curve is stored: bins of the score holding every labelled row.
            let curves = try await MetricsStore(database: database).reliabilityCurves(model: "churn", from: .distantPast, to: .distantFuture)
            #expect(curves.count == 2 && curves.allSatisfy { $0.bins.map(\.count).reduce(0, +) == 1_000 })
            #expect(curves.allSatisfy { $0.bins.allSatisfy { (0...1).contains($0.observedRate) && $0.meanProbability >= $0.lower && $0.meanProbability <= $0.upper } })
        }
    }
}

/// A promoted version's scores are calibrated differently from the version the baseline's
/// estimator was fitted on: its windows are estimated with its own calibration, fitted on its
/// labelled shadow answers, not with another model's.
@Suite("Estimates per model version", .timeLimit(.minutes(3)))
struct VersionEstimatorTests {
    /// Hours 0–11: champion v1, whose score is the true probability p = σ(2x), labelled. Hours
    /// 6–11: v2 answers the same requests in shadow with score p² (it ranks rows as v1 does but
    /// predicts positive only above p ≈ 0.71), labelled. Hours 12–23: v2 is champion, unlabelled.
    /// v2's true accuracy is about 0.74; v1's calibration would read its scores as 0.82.
    static func write(to url: URL) throws {
        var generator = SeededGenerator(seed: 2026_1207)
        var text = "request_id,ts,model_version,role,prediction,score,latency_ms,error,amount,tenure,tickets,plan,label\n"
        for hour in 0..<24 {
            for row in 0..<400 {
                let ts = ISO8601DateFormatter().string(from: SyntheticLog.start.addingTimeInterval(Double(hour) * 3_600 + Double(row) * 9))
                let x = generator.normal(mean: 0, deviation: 1)
                let p = 1 / (1 + exp(-2 * x))
                let label = generator.uniform() < p ? "1" : "0"
                let rest = ",20,false,\(String(format: "%.4f", 50 + 10 * x)),24,2,basic,"
                if hour < 12 {
                    text += "r\(hour)-\(row),\(ts),1,champion,\(p >= 0.5 ? 1 : 0),\(String(format: "%.6f", p))\(rest)\(label)\n"
                }
                if hour >= 6 {
                    let role = hour < 12 ? "shadow" : "champion"
                    text += "r\(hour)-\(row),\(ts),2,\(role),\(p * p >= 0.5 ? 1 : 0),\(String(format: "%.6f", p * p))\(rest)\(hour < 12 ? label : "")\n"
                }
            }
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test("windows v2 serves are estimated with v2's calibration fitted on its labelled shadow answers and kept for it; v1's windows with the baseline's")
    func promotedVersion() async throws {
        let url = SyntheticLog.temporaryFile("versions.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try Self.write(to: url)
        try await TestDatabase.withFresh { database in
            _ = try await SyntheticLog.ingest(url, into: database)
            let monitor = try SyntheticLog.monitor(database, baseline: .fixed(start: "2025-11-24T00:00:00Z", end: "2025-11-24T06:00:00Z"), slices: [])
            _ = try await monitor.run(now: SyntheticLog.start.addingTimeInterval(25 * 3_600), runID: nil)

            let windows = try await MetricsStore(database: database).recentWindows(model: "churn", count: 24).reversed()
            #expect(windows.count == 24)
            var v1: [Double] = [], v2: [Double] = []
            for (hour, window) in windows.enumerated() {
                let estimate = try #require(window.metrics["estimated_accuracy"], "hour \(hour) has no estimate")
                if hour < 12 { v1.append(estimate.value) } else { v2.append(estimate.value) }
            }
            let mean = { (values: [Double]) in values.reduce(0, +) / Double(values.count) }
            // v1's true accuracy is about 0.78, v2's about 0.74; v1's calibration would put v2 at 0.82.
            #expect(abs(mean(v1) - 0.78) < 0.03, "v1 estimated \(v1)")
            #expect(abs(mean(v2) - 0.74) < 0.03, "v2 estimated \(v2)")
            let kept = try #require(try await MetricsStore(database: database).estimator(model: "churn", version: "2"))
            #expect(try ReferenceEstimator.decoded(kept).modelVersion == "2")
            let baseline = try #require(try await MetricsStore(database: database).estimator(model: "churn", version: "1"))
            #expect(try ReferenceEstimator.decoded(baseline).estimator != nil)
        }
    }
}
