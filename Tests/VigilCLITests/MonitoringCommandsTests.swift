import Foundation
import Testing
import VigilEngine
import VigilStore
import VigilTesting

@Suite("vigil ingest and vigil metrics")
struct MonitoringCommandsTests {
    static let workflow = """
        name: watch
        model: churn
        data:
          timestamp: ts
          prediction: prediction
          granularity: 1h
          features:
            amount: { type: number, min: 0 }
            plan: { type: category, allowed: [basic, pro] }
        steps:
          monitor: { uses: monitor, with: { lookback: 3650d, min_rows: 5 } }
        """

    @Test("ingest checks rows against the workflow's features, quarantines bad ones by line, and metrics shows the windows")
    func ingestAndMetrics() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-ingest-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try Self.workflow.write(to: folder.appendingPathComponent("watch.yaml"), atomically: true, encoding: .utf8)
            let applied = try await VigilProcess.run(["apply", folder.appendingPathComponent("watch.yaml").path, "--database-url", url], environment: environment)
            #expect(applied.status == 0, "\(applied.standardError)")

            var csv = "request_id,ts,prediction,amount,plan\n"
            for index in 0..<40 {
                let hour = index < 20 ? "10" : "11"
                let amount = index == 7 ? "-3" : index == 30 ? "twelve" : String(10 + index % 5)
                csv += "r\(index),2026-01-05T\(hour):\(String(format: "%02d", index % 60)):00Z,\(index % 2),\(amount),\(index % 3 == 0 ? "pro" : "basic")\n"
            }
            let file = folder.appendingPathComponent("log.csv")
            try csv.write(to: file, atomically: true, encoding: .utf8)
            let ingest = try await VigilProcess.run(["ingest", file.path, "--model", "churn", "--database-url", url], environment: environment)
            #expect(ingest.status == 0, "\(ingest.standardError)")
            #expect(ingest.standardOutput.hasPrefix("read 40 rows for churn") && ingest.standardOutput.contains("38 inserted, 0 already present, 2 quarantined"), "\(ingest.standardOutput)")
            #expect(ingest.standardOutput.contains("log.csv:9: feature 'amount': -3 is below the minimum 0"))
            #expect(ingest.standardOutput.contains("log.csv:32: feature 'amount': 'twelve' is not a number"))

            let broken = folder.appendingPathComponent("broken.csv")
            try (csv + "r99,2026-01-05T12:00:00Z,\"1\n").write(to: broken, atomically: true, encoding: .utf8)
            let refused = try await VigilProcess.run(["ingest", broken.path, "--model", "churn", "--database-url", url], environment: environment)
            #expect(refused.status == 1)
            #expect(refused.standardError == "vigil: error: \(broken.path):42: a quoted field is never closed\n")

            let run = try await VigilProcess.run(["run", "watch", "--database-url", url], environment: environment)
            #expect(run.status == 0, "\(run.standardError)")
            let worker = try VigilProcess.start(["worker", "--database-url", url], environment: environment)
            defer { kill(worker.processIdentifier, SIGTERM) }
            let store = RunStore(database: database)
            var finished = false
            for _ in 0..<400 where !finished {
                finished = try await store.list(limit: 1).first?.state.isTerminal == true
                if !finished { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(finished)

            let integrity = try await VigilProcess.run(["metrics", "integrity", "--model", "churn", "--format", "csv", "--database-url", url], environment: environment)
            #expect(integrity.status == 0, "\(integrity.standardError)")
            let lines = integrity.standardOutput.split(separator: "\n")
            #expect(lines.first == "window_start,slice,feature,rows,missing_rate,type_mismatches,out_of_range,out_of_domain,unseen,quarantined")
            #expect(lines.contains("2026-01-05T10:00:00Z,,amount,19,0,0,0,0,0,1"))
            #expect(lines.contains("2026-01-05T11:00:00Z,,amount,19,0,0,0,0,0,1"))
            let drift = try await VigilProcess.run(["metrics", "drift", "--model", "churn", "--format", "json", "--database-url", url], environment: environment)
            let rows = try JSONSerialization.jsonObject(with: Data(drift.standardOutput.utf8)) as? [[String: String]]
            #expect(rows?.contains { $0["feature"] == "amount" && $0["window_start"] == "2026-01-05T11:00:00Z" && $0["reference"] == "previous window" } == true)
            let rolled = try await VigilProcess.run(
                ["metrics", "drift", "--model", "churn", "--rollup", "1h", "--since", "2026-01-05T00:00:00Z", "--format", "csv", "--database-url", url], environment: environment
            )
            #expect(rolled.status == 0, "\(rolled.standardError)")
            #expect(rolled.standardOutput.contains("\n2026-01-05T11:00:00Z,2026-01-05T12:00:00Z,1,amount,feature,"), "\(rolled.standardOutput)")
            let none = try await VigilProcess.run(["metrics", "performance", "--model", "nobody", "--database-url", url], environment: environment)
            #expect(none.standardOutput == "no performance metrics for nobody\n")
        }
    }

    @Test("monitor backfill computes every closed window of months-old logs with a progress bar, and nothing the second time; a pass that finds nothing due says why")
    func backfill() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-backfill-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            // The default lookback (7 days) of a monitor step: the logs below lie long before it.
            let workflow = Self.workflow.replacingOccurrences(of: "lookback: 3650d, ", with: "")
            try workflow.write(to: folder.appendingPathComponent("watch.yaml"), atomically: true, encoding: .utf8)
            #expect(try await VigilProcess.run(["apply", folder.appendingPathComponent("watch.yaml").path, "--database-url", url], environment: environment).status == 0)
            var csv = "request_id,ts,prediction,amount,plan\n"
            for hour in 0..<12 {
                for row in 0..<10 { csv += "r\(hour)-\(row),2026-01-05T\(String(format: "%02d", hour)):\(String(format: "%02d", row * 5)):00Z,\(row % 2),\(10 + row),basic\n" }
            }
            let file = folder.appendingPathComponent("log.csv")
            try csv.write(to: file, atomically: true, encoding: .utf8)
            #expect(try await VigilProcess.run(["ingest", file.path, "--model", "churn", "--database-url", url], environment: environment).status == 0)

            let idle = try await WindowMonitor(workflow: try await WorkflowStore(database: database).version(of: "watch"), database: database, logger: database.logger)
                .run(now: Date(), runID: nil)
            #expect(idle.windows.isEmpty)
            #expect(idle.idleReason?.contains("lies before this pass's lookback") == true && idle.idleReason?.contains("vigil monitor backfill watch --since 2026-01-05T00:00:00Z") == true,
                    "\(idle.idleReason ?? "")")

            let first = try await VigilProcess.run(["monitor", "backfill", "watch", "--since", "2026-01-05T00:00:00Z", "--until", "2026-01-06T00:00:00Z", "--database-url", url],
                                                   environment: environment)
            #expect(first.status == 0, "\(first.standardError)")
            #expect(first.standardOutput == "computed 12 windows from 2026-01-05T00:00:00Z to 2026-01-05T12:00:00Z\n", "\(first.standardOutput)")
            #expect(first.standardError.contains("12/12 windows"), "\(first.standardError)")
            let second = try await VigilProcess.run(["monitor", "backfill", "watch", "--since", "2026-01-05T00:00:00Z", "--until", "2026-01-06T00:00:00Z", "--database-url", url],
                                                    environment: environment)
            #expect(second.standardOutput == "nothing to back-fill: all 12 windows are computed already\n", "\(second.standardOutput)")
            let unknown = try await VigilProcess.run(["monitor", "backfill", "nope", "--since", "30d", "--database-url", url], environment: environment)
            #expect(unknown.status == 1 && unknown.standardError.contains("nope"), "\(unknown.standardError)")
        }
    }
}
