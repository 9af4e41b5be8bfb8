import Foundation
import PostgresNIO
import Testing
import VigilEngine
import VigilStore
import VigilTesting
import VigilWorkflow

@Suite("Retention of the inference log")
struct RetentionTests {
    @Test("with a shortened clock: exactly the expired day partitions are dropped with their labels; a day another model still keeps loses only the expired model's rows; metrics and audit stay; a monitor pass after it works")
    func expiredPartitions() async throws {
        try await TestDatabase.withFresh { database in
            let day0 = Date(timeIntervalSince1970: (1_780_272_000 / 86_400).rounded(.down) * 86_400)
            func day(_ number: Double) -> Date { day0.addingTimeInterval(number * 86_400) }
            _ = try await EngineFixtures.apply("""
                name: watch
                model: churn
                data:
                  features: { x: number }
                  granularity: 1d
                  retention: 2d
                steps:
                  monitor: { uses: monitor }
                """, to: database)
            try await InferenceIngest(database: database).createPartitions(from: day(0), to: day(5))
            let log = ServingLog(database: database)
            for (model, days) in [("churn", 0..<5), ("fraud", 1..<2)] {
                var rows: [ServingLog.Prediction] = []
                var labels: [(requestID: String, label: String, receivedAt: Date)] = []
                for number in days {
                    for row in 0..<10 {
                        let id = "\(model)-\(number)-\(row)"
                        let ts = day(Double(number)).addingTimeInterval(3_600 + Double(row) * 60)
                        rows.append(.init(requestID: id, ts: ts, version: 1, role: "champion", features: ["x": .number(Double(row))], prediction: "1", score: 0.7,
                                          latency: 5, error: false))
                        labels.append((id, row.isMultiple(of: 2) ? "1" : "0", ts.addingTimeInterval(600)))
                    }
                }
                try await log.append(rows, model: model)
                try await log.label(labels, model: model)
            }
            try await MetricRowsFixture.window("churn", start: day(0), drift: [("x", 0.05)], in: database)
            func count(_ sql: String) async throws -> Int {
                try await database.client.query(PostgresQuery(unsafeSQL: sql), logger: database.logger).decode(Int.self).first { _ in true } ?? -1
            }

            // Day 5, 01:00: two days kept, so days 0–2 have expired for churn; fraud (no retention) keeps day 1.
            let clock = ManualClock(day(5).addingTimeInterval(3_600))
            let scheduler = Scheduler(database: database, clock: clock, logger: EngineFixtures.logger)
            let report = try await scheduler.applyRetention()
            let name = { (number: Double) in "inference_log_" + String(ISO8601DateFormatter().string(from: day(number)).prefix(10).filter(\.isNumber)) }
            #expect(report.droppedPartitions == [name(0), name(2)], "\(report)")
            #expect(report.deletedRows == ["churn": 10], "\(report)")
            #expect(try await count("SELECT count(*)::int8 FROM inference_log WHERE model = 'churn'") == 20)
            #expect(try await count("SELECT count(*)::int8 FROM inference_log WHERE model = 'fraud'") == 10)
            #expect(try await count("SELECT count(*)::int8 FROM inference_labels WHERE model = 'churn'") == 20)
            #expect(try await count("SELECT count(*)::int8 FROM inference_requests WHERE model = 'churn'") == 20)
            #expect(try await count("SELECT count(*)::int8 FROM inference_labels WHERE model = 'fraud'") == 10)
            #expect(try await count("SELECT count(*)::int8 FROM pg_inherits WHERE inhparent = 'inference_log'::regclass") == 4)
            // Metrics and the audit log are kept, and the pass is in it.
            #expect(try await MetricsStore(database: database).recentWindows(model: "churn", count: 10).map(\.start) == [day(0)])
            let audit = try await AuditLog(database: database).list(subject: "inference_log")
            #expect(audit.map(\.action) == ["retention.applied"])
            let verified = try await AuditLog(database: database).verify()
            #expect(verified.broken == nil && verified.cut == nil)

            // Nothing more to remove at the same time; the monitor still computes the kept days.
            let again = try await scheduler.applyRetention()
            #expect(again.droppedPartitions.isEmpty && again.deletedRows.isEmpty, "\(again)")
            let spec = try await WorkflowStore(database: database).version(of: "watch").spec
            var options = WindowMonitor.Options()
            options.lookback = 3 * 86_400
            let monitor = try WindowMonitor(database: database, workflow: "watch", model: "churn", data: try #require(spec.data), options: options, logger: EngineFixtures.logger)
            _ = try await monitor.run(now: clock.now(), runID: nil)
            let windows = try await MetricsStore(database: database).recentWindows(model: "churn", count: 10).map(\.start)
            #expect(windows.contains(day(3)) && windows.contains(day(4)), "\(windows)")

            // A deployment default of two days reaches fraud too: day 1 goes, and its labels with it.
            let byDefault = try await InferenceRetention(database: database).apply(retention: [:], defaultRetention: 2 * 86_400, actor: "t", now: clock.now())
            #expect(byDefault.droppedPartitions == [name(1)] && byDefault.deletedRows.isEmpty, "\(byDefault)")
            #expect(try await count("SELECT count(*)::int8 FROM inference_labels WHERE model = 'fraud'") == 0)
            #expect(try await count("SELECT count(*)::int8 FROM inference_log WHERE model = 'churn'") == 20)
        }
    }
}
