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
