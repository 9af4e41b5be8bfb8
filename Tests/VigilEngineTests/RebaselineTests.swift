import Foundation
import PostgresNIO
import Testing
import VigilEngine
import VigilStore
import VigilTesting
import VigilWorkflow

@Suite("Re-baselining: references that move with the champion, or roll", .timeLimit(.minutes(4)))
struct RebaselineTests {
    static func hour(_ number: Double) -> Date { SyntheticLog.start.addingTimeInterval(number * 3_600) }

    static let workflow = """
        name: watch
        model: churn
        data:
          timestamp: ts
          prediction: prediction
          score: score
          granularity: 1h
          baseline: champion_training
          features:
            amount: { type: number, min: 0 }
            tenure: { type: number }
            tickets: { type: integer, min: 0 }
            plan: { type: category }
        steps:
          monitor:
            uses: monitor
            with: { lookback: 400d, windows: 100 }
          evaluate:
            uses: evaluate
            needs: monitor
            with:
              hard: { features: [tenure] }
          escalate:
            uses: escalate
            needs: evaluate
            with:
              alert: churn-drift
              severity: ${{ steps.evaluate.outputs.severity }}
              reasons: ${{ steps.evaluate.outputs.reasons }}
        """

    @Test("after a promotion with baseline champion_training, windows are measured against the new champion's training window, the changelog says so, and the drift alert the old baseline raised is resolved, not raised again")
    func promotionMovesTheBaseline() async throws {
        let early = SyntheticLog.temporaryFile("early.csv"), late = SyntheticLog.temporaryFile("late.csv")
        defer { for url in [early, late] { try? FileManager.default.removeItem(at: url) } }
        // Tenure moves up by 1σ from hour 4 on, and stays there; hours 6–8 arrive after the promotion.
        try SyntheticLog.write(to: early, hours: 6, perHour: 300, seed: 17, shiftFrom: 4)
        try SyntheticLog.write(to: late, hours: 8, perHour: 300, seed: 18, shiftFrom: 4, fromHour: 6)
        try await TestDatabase.withFresh { database in
            _ = try await SyntheticLog.ingest(early, into: database)
            _ = try await EngineFixtures.apply(Self.workflow, to: database)
            let registry = ModelRegistry(database: database)
            func version(trainedOn hours: (Double, Double)) -> NewModelVersion {
                NewModelVersion(artifactURI: "file:///models/churn-\(hours.0).pkl", framework: "sklearn", trainingStart: Self.hour(hours.0), trainingEnd: Self.hour(hours.1))
            }
            try await registry.register(version(trainedOn: (0, 4)), of: "churn", alias: "champion", actor: "t", now: Self.hour(0))
            // Windows before the promotion are measured against version 1's training hours.
            let metrics = MetricsStore(database: database)
            let (first, steps) = try await EscalationFixtures.run("watch", in: database, channels: ChannelDirectory(channels: [:]))
            #expect(first.state == .succeeded, "\(steps.values.compactMap(\.error))")
            var alerts = try await AlertStore(database: database).list(model: "churn")
            let alert = try #require(alerts.first)
            #expect(alerts.count == 1 && alert.severity == .hard && alert.state == .firing, "\(alerts)")

            // Version 2 was trained on the shifted hours 4–6 and is promoted.
            try await registry.register(version(trainedOn: (4, 6)), of: "churn", actor: "t", now: Self.hour(6))
            let promotion = try await registry.startPromotion(2, of: "churn", runID: nil, actor: "t", now: Self.hour(6))
            try await registry.completePromotion(promotion, actor: "t", reason: "canary held", now: Self.hour(6))
            let moved = try await registry.changelog(of: "churn").filter { $0.action == "baseline_moved" }
            #expect(moved.map(\.version) == [1, 2])
            let last = try #require(moved.last)
            #expect(last.fromVersion == 1)
            #expect(last.details["reference_start"] == .string("2025-11-24T04:00:00Z") && last.details["reference_end"] == .string("2025-11-24T06:00:00Z"), "\(last.details)")
            #expect(last.reason?.contains("now measured against version 2's training window") == true, "\(last.reason ?? "")")
            let resolved = try await AlertStore(database: database).alert(alert.id)
            #expect(resolved.state == .resolved && resolved.resolution?.contains("the drift baseline moved with the champion to version 2") == true, "\(resolved)")

            // Hours 6–8 look like version 2's training data: no drift, and no new alert.
            _ = try await SyntheticLog.ingest(late, into: database)
            let (second, _) = try await EscalationFixtures.run("watch", in: database, channels: ChannelDirectory(channels: [:]))
            #expect(second.state == .succeeded)
            alerts = try await AlertStore(database: database).list(model: "churn")
            #expect(alerts.count == 1 && alerts.first?.state == .resolved, "\(alerts.map { ($0.id, $0.state) })")

            func tenure(at hour: Double) async throws -> (drifted: Bool, reference: String, start: Date?) {
                let rows = try await database.client.query("""
                    SELECT drifted, reference, reference_start FROM drift_metrics
                    WHERE model = 'churn' AND feature_name = 'tenure' AND slice_key IS NULL AND window_start_time = \(Self.hour(hour))
                    """, logger: database.logger)
                return try #require(try await rows.decode((Bool, String, Date?).self).first { _ in true })
            }
            let before = try await tenure(at: 5)
            #expect(before.drifted && before.reference.hasPrefix("training window of version 1") && before.start == Self.hour(0), "\(before)")
            for hour in [6.0, 7.0] {
                let after = try await tenure(at: hour)
                #expect(!after.drifted && after.reference.hasPrefix("training window of version 2") && after.start == Self.hour(4), "hour \(hour): \(after)")
            }
            #expect(try await metrics.recentWindows(model: "churn", count: 10).count == 8)
        }
    }

    @Test("a rolling baseline compares each window with the period just before it")
    func rolling() async throws {
        let url = SyntheticLog.temporaryFile("log.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try SyntheticLog.write(to: url, hours: 8, perHour: 300, seed: 23, shiftFrom: 4)
        try await TestDatabase.withFresh { database in
            _ = try await SyntheticLog.ingest(url, into: database)
            let monitor = try SyntheticLog.monitor(database, baseline: .rolling(period: WorkflowDuration(seconds: 3 * 3_600)), slices: [])
            _ = try await monitor.run(now: Self.hour(8), runID: nil)
            let rows = try await database.client.query("""
                SELECT window_start_time, drifted, comparison, reference_start FROM drift_metrics
                WHERE model = 'churn' AND feature_name = 'tenure' AND slice_key IS NULL ORDER BY window_start_time
                """, logger: database.logger)
            var windows: [Date: (drifted: Bool, comparison: String, start: Date?)] = [:]
            for try await (start, drifted, comparison, reference) in rows.decode((Date, Bool, String, Date?).self) {
                windows[start] = (drifted, comparison, reference)
            }
            // Hour 4 against hours 1–4: shifted. Hour 7 against hours 4–7, all shifted: not.
            let shifted = try #require(windows[Self.hour(4)])
            #expect(shifted.drifted && shifted.comparison == "rolling" && shifted.start == Self.hour(1), "\(shifted)")
            let settled = try #require(windows[Self.hour(7)])
            #expect(!settled.drifted && settled.start == Self.hour(4), "\(settled)")
            #expect(windows[Self.hour(0)] == nil, "the first window has nothing before it")
        }
    }
}
