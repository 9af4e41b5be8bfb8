import Foundation
import PostgresNIO
import Testing
import VigilEngine
@testable import VigilStore
import VigilTesting
import VigilWorkflow

@Suite("Retention of the inference log")
struct RetentionTests {
    /// Midnight UTC of the first day the tests log.
    static let day0 = Date(timeIntervalSince1970: (1_780_272_000 / 86_400).rounded(.down) * 86_400)

    /// The start of the day `number` days after ``day0``.
    static func day(_ number: Double) -> Date { day0.addingTimeInterval(number * 86_400) }

    /// The inference-log partition of that day.
    static func partition(_ number: Double) -> String {
        "inference_log_" + String(ISO8601DateFormatter().string(from: day(number)).prefix(10).filter(\.isNumber))
    }

    /// Ten predictions a minute apart from 01:00 on each of days 0–4 for churn and day 1 for fraud
    /// (``day0`` is midnight UTC), the tenth of each day an error, labelled by `label(row)`
    /// ten minutes after each prediction.
    static func log(in database: Database, label: (Int) -> String?) async throws {
        let log = ServingLog(database: database)
        for (model, days) in [("churn", 0..<5), ("fraud", 1..<2)] {
            var rows: [ServingLog.Prediction] = []
            var labels: [(requestID: String, label: String, receivedAt: Date)] = []
            for number in days {
                for row in 0..<10 {
                    let id = "\(model)-\(number)-\(row)"
                    let ts = Self.day0.addingTimeInterval(Double(number) * 86_400 + 3_600 + Double(row) * 60 + 0.123456)
                    rows.append(.init(requestID: id, ts: ts, version: 1, role: "champion", features: ["x": .number(Double(row)), "plan": .string("pro")],
                                      prediction: "1", score: 0.7, latency: 5, error: row == 9))
                    if let value = label(row) { labels.append((id, value, ts.addingTimeInterval(600))) }
                }
            }
            try await log.append(rows, model: model)
            try await log.label(labels, model: model)
        }
    }

    @Test("with a shortened clock: exactly the expired day partitions are dropped with their labels; a day another model still keeps loses only the expired model's rows; metrics and audit stay; a monitor pass after it works")
    func expiredPartitions() async throws {
        try await TestDatabase.withFresh { database in
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
            try await InferenceIngest(database: database).createPartitions(from: Self.day(0), to: Self.day(5))
            try await Self.log(in: database) { $0.isMultiple(of: 2) ? "1" : "0" }
            try await MetricRowsFixture.window("churn", start: Self.day(0), drift: [("x", 0.05)], in: database)
            func count(_ sql: String) async throws -> Int {
                try await database.client.query(PostgresQuery(unsafeSQL: sql), logger: database.logger).decode(Int.self).first { _ in true } ?? -1
            }

            // Day 5, 01:00: two days kept, so days 0–2 have expired for churn; fraud (no retention) keeps day 1.
            let clock = ManualClock(Self.day(5).addingTimeInterval(3_600))
            let scheduler = Scheduler(database: database, clock: clock, logger: EngineFixtures.logger)
            let report = try await scheduler.applyRetention()
            #expect(report.droppedPartitions == [Self.partition(0), Self.partition(2)], "\(report)")
            #expect(report.deletedRows == ["churn": 10], "\(report)")
            #expect(try await count("SELECT count(*)::int8 FROM inference_log WHERE model = 'churn'") == 20)
            #expect(try await count("SELECT count(*)::int8 FROM inference_log WHERE model = 'fraud'") == 10)
            #expect(try await count("SELECT count(*)::int8 FROM inference_labels WHERE model = 'churn'") == 20)
            #expect(try await count("SELECT count(*)::int8 FROM inference_requests WHERE model = 'churn'") == 20)
            #expect(try await count("SELECT count(*)::int8 FROM inference_labels WHERE model = 'fraud'") == 10)
            #expect(try await count("SELECT count(*)::int8 FROM pg_inherits WHERE inhparent = 'inference_log'::regclass") == 4)
            // A dropped day's idempotency records go with it, as a partition of their own.
            #expect(try await count("""
                SELECT count(*)::int8 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'inference_requests'::regclass AND c.relname IN ('\(Self.partition(0).replacingOccurrences(of: "log", with: "requests"))', '\(Self.partition(2).replacingOccurrences(of: "log", with: "requests"))')
                """) == 0)
            #expect(try await count("SELECT count(*)::int8 FROM pg_inherits WHERE inhparent = 'inference_requests'::regclass") == 4)
            // Metrics and the audit log are kept, and the pass is in it.
            #expect(try await MetricsStore(database: database).recentWindows(model: "churn", count: 10).map(\.start) == [Self.day(0)])
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
            #expect(windows.contains(Self.day(3)) && windows.contains(Self.day(4)), "\(windows)")

            // A deployment default of two days reaches fraud too: day 1 goes, and its labels with it.
            let byDefault = try await InferenceRetention(database: database).apply(retention: [:], defaultRetention: 2 * 86_400, actor: "t", now: clock.now())
            #expect(byDefault.droppedPartitions == [Self.partition(1)] && byDefault.deletedRows.isEmpty, "\(byDefault)")
            #expect(try await count("SELECT count(*)::int8 FROM inference_labels WHERE model = 'fraud'") == 0)
            #expect(try await count("SELECT count(*)::int8 FROM inference_requests WHERE model = 'fraud'") == 0)
            #expect(try await count("SELECT count(*)::int8 FROM inference_log WHERE model = 'churn'") == 20)
        }
    }

    @Test("a pass reads only the days it removes: each model's days are in logged_days, and a day that another model keeps is not read again (a pass completes with that day locked against it)")
    func keptDaysNotReread() async throws {
        try await TestDatabase.withFresh { database in
            try await InferenceIngest(database: database).createPartitions(from: Self.day(0), to: Self.day(5))
            try await Self.log(in: database) { $0.isMultiple(of: 2) ? "1" : "0" }
            func ledger() async throws -> [String] {
                try await database.client.query("SELECT model || ' ' || (day - \(Self.day0)::date) FROM logged_days ORDER BY model, day", logger: database.logger)
                    .collect().map { try $0.decode(String.self) }
            }
            #expect(try await ledger() == ["churn 0", "churn 1", "churn 2", "churn 3", "churn 4", "fraud 1"])

            // Churn keeps two days, fraud everything: days 0 and 2 are dropped, day 1 loses churn's rows.
            let retention = InferenceRetention(database: database)
            let first = try await retention.apply(retention: ["churn": 2 * 86_400], defaultRetention: nil, actor: "t", now: Self.day(5).addingTimeInterval(3_600))
            #expect(first.droppedPartitions == [Self.partition(0), Self.partition(2)] && first.deletedRows == ["churn": 10], "\(first)")
            #expect(try await ledger() == ["churn 3", "churn 4", "fraud 1"])

            // A day later, with fraud's day 1 locked against every reader, the next pass still
            // completes: it drops day 3 and has no reason to read day 1 again.
            let (released, release) = AsyncStream<Void>.makeStream()
            let (held, hold) = AsyncStream<Void>.makeStream()
            let lock = "LOCK TABLE \(Self.partition(1)) IN ACCESS EXCLUSIVE MODE"
            async let holder: Void = database.transaction { connection in
                try await connection.query(PostgresQuery(unsafeSQL: lock), logger: database.logger)
                hold.finish()
                for await _ in released {}
            }
            for await _ in held {}
            let second = try await withThrowingTaskGroup(of: InferenceRetention.Report?.self) { group in
                group.addTask {
                    try await retention.apply(retention: ["churn": 2 * 86_400], defaultRetention: nil, actor: "t", now: Self.day(6).addingTimeInterval(3_600))
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(60))
                    release.finish() // lets a pass that waited on day 1 finish, so the group can end
                    return nil
                }
                let winner = try await group.next() ?? nil
                group.cancelAll()
                return winner
            }
            release.finish()
            try await holder
            #expect(second?.droppedPartitions == [Self.partition(3)] && second?.deletedRows.isEmpty == true, "the pass waited on day 1: \(String(describing: second))")
            #expect(try await ledger() == ["churn 4", "fraud 1"])
            let counts = try await database.client.query("SELECT model, count(*)::int8 FROM inference_log GROUP BY model ORDER BY model", logger: database.logger)
                .collect().map { "\(try $0.decode((String, Int).self))" }
            #expect(counts == ["(\"churn\", 10)", "(\"fraud\", 10)"], "\(counts)")
        }
    }

    @Test("a load still storing rows on a day that retention is removing holds that day's ledger entry: the pass waits for it to commit and removes its rows too")
    func passWaitsForLoad() async throws {
        try await TestDatabase.withFresh { database in
            try await InferenceIngest(database: database).createPartitions(from: Self.day(0), to: Self.day(5))
            try await Self.log(in: database) { _ in nil }
            let retention = InferenceRetention(database: database)
            let now = Self.day(5).addingTimeInterval(3_600)
            _ = try await retention.apply(retention: ["churn": 2 * 86_400], defaultRetention: nil, actor: "t", now: now)
            func churnOnDay1() async throws -> Int {
                try await database.client.query("SELECT count(*)::int8 FROM inference_log WHERE model = 'churn' AND ts >= \(Self.day(1)) AND ts < \(Self.day(2))",
                                                logger: database.logger).decode(Int.self).first { _ in true } ?? -1
            }
            #expect(try await churnOnDay1() == 0)

            // A late load of churn's day 1 (which fraud keeps) records the day and has stored a row,
            // not yet committed, when the next pass starts.
            let (committing, commit) = AsyncStream<Void>.makeStream()
            let (stored, store) = AsyncStream<Void>.makeStream()
            let late = Self.day(1).addingTimeInterval(7_200)
            let firstDay = Timestamp.day(of: late.timeIntervalSince1970)
            async let load: Void = database.transaction { connection in
                try await LoggedDays.record([firstDay], model: "churn", database: database, holdingOn: connection)
                try await connection.query("INSERT INTO inference_log (model, request_id, ts) VALUES ('churn', 'late', \(late))", logger: database.logger)
                store.finish()
                for await _ in committing {}
            }
            for await _ in stored {}
            let pass = Task { try await retention.apply(retention: ["churn": 2 * 86_400], defaultRetention: nil, actor: "t", now: now) }
            let waiting = try await eventually(timeout: .seconds(30)) {
                try await database.client.query("SELECT count(*)::int8 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
                                                logger: database.logger).decode(Int.self).first { _ in true } == 1
            }
            commit.finish()
            try await load
            let report = try await pass.value
            #expect(waiting, "the pass did not wait for the load")
            #expect(report.deletedRows == ["churn": 1], "\(report)")
            #expect(try await churnOnDay1() == 0)
        }
    }

    @Test("with an archive: every removed row is first written to Parquet (dropped days and rows deleted from a kept day), pyarrow reads them back with their labels, the audit entry names each file with its SHA-256; an archive that cannot be written removes nothing")
    func archivedBeforeRemoval() async throws {
        try await TestDatabase.withFresh { database in
            try await InferenceIngest(database: database).createPartitions(from: Self.day(0), to: Self.day(5))
            try await Self.log(in: database) { $0.isMultiple(of: 2) ? "1" : nil }
            // A row with every optional column empty but its class probabilities and an embedding.
            try await database.client.query("""
                INSERT INTO inference_log (model, request_id, ts, features, probabilities, embeddings)
                VALUES ('churn', 'churn-sparse', \(Self.day(0).addingTimeInterval(7_200)), '{"x": null}', '{"a": 0.25, "b": 0.75}', '{0.5,1.5}')
                """, logger: database.logger)
            func count(_ sql: String) async throws -> Int {
                try await database.client.query(PostgresQuery(unsafeSQL: sql), logger: database.logger).decode(Int.self).first { _ in true } ?? -1
            }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("archive-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let archive = InferenceArchive(directory: folder)
            let retention = InferenceRetention(database: database)
            let now = Self.day(5).addingTimeInterval(3_600)

            // A file where churn's folder belongs: the export fails, and nothing is removed.
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: folder.appendingPathComponent("churn").path, contents: Data("in the way".utf8))
            let failure = await #expect(throws: StoreError.self) {
                try await retention.apply(retention: ["churn": 2 * 86_400], defaultRetention: nil, archive: archive, actor: "t", now: now)
            }
            #expect(failure?.message.contains("could not archive model churn's inferences of") == true, "\(String(describing: failure))")
            #expect(failure?.message.contains("Not a directory") == true || failure?.message.contains("File exists") == true, "\(String(describing: failure))")
            #expect(try await count("SELECT count(*)::int8 FROM inference_log") == 61)
            #expect(try await count("SELECT count(*)::int8 FROM inference_labels") == 30)
            #expect(try await count("SELECT count(*)::int8 FROM pg_inherits WHERE inhparent = 'inference_log'::regclass") == 6)
            #expect(try await AuditLog(database: database).list(subject: "inference_log").isEmpty)

            try FileManager.default.removeItem(at: folder.appendingPathComponent("churn"))
            let report = try await retention.apply(retention: ["churn": 2 * 86_400], defaultRetention: nil, archive: archive, actor: "t", now: now)
            #expect(report.droppedPartitions == [Self.partition(0), Self.partition(2)], "\(report)")
            #expect(report.deletedRows == ["churn": 10], "\(report)")
            let dayText = { (number: Double) in String(ISO8601DateFormatter().string(from: Self.day(number)).prefix(10)) }
            #expect(report.archivedFiles.map(\.day).sorted() == [dayText(0), dayText(1), dayText(2)], "\(report.archivedFiles)")
            #expect(report.archivedFiles.map(\.rows).sorted() == [10, 10, 11])
            #expect(Set(report.archivedFiles.map(\.model)) == ["churn"])
            #expect(try await count("SELECT count(*)::int8 FROM inference_log WHERE model = 'churn'") == 20)
            #expect(try await count("SELECT count(*)::int8 FROM inference_log WHERE model = 'fraud'") == 10)

            // pyarrow reads exactly the removed rows, each with its label.
            let read = try await ParquetReference.read(report.archivedFiles.map(\.path))
            var records: [String: [String: ParquetReference.ReferenceValue]] = [:]
            for file in report.archivedFiles {
                let table = try #require(read[file.path])
                #expect(table.rows == Int(file.rows) && table.sha256 == file.sha256)
                #expect(table.metadata["vigil.model"] == "churn" && table.metadata["vigil.day"] == file.day)
                #expect(table.types["ts"] == "timestamp[us, tz=UTC]" && table.types["label_received_at"] == "timestamp[us, tz=UTC]", "\(table.types)")
                #expect(file.path.hasPrefix(folder.appendingPathComponent("churn").appendingPathComponent(file.day).path + "/"))
                for record in table.records { records[record["request_id"]?.text ?? "?"] = record }
            }
            #expect(Set(records.keys) == Set((0..<3).flatMap { number in (0..<10).map { "churn-\(number)-\($0)" } } + ["churn-sparse"]))
            let labelled = try #require(records["churn-1-4"])
            let stamp = Int64((Self.day(1).timeIntervalSince1970 + 3_600 + 240) * 1_000_000) + 123_456
            #expect(labelled["ts"] == .number(Double(stamp)))
            #expect(labelled["label"] == .text("1") && labelled["label_received_at"] == .number(Double(stamp + 600_000_000)))
            #expect(labelled["model_version"] == .text("1") && labelled["role"] == .text("champion") && labelled["prediction"] == .text("1"))
            #expect(labelled["score"] == .number(0.7) && labelled["latency_ms"] == .number(5) && labelled["error"] == .bool(false))
            let features = try JSONDecoder().decode([String: JSONValue].self, from: Data(try #require(labelled["features"]?.text).utf8))
            #expect(features == ["x": .number(4), "plan": .string("pro")])
            #expect(records["churn-1-5"]?["label"] == .null && records["churn-1-9"]?["error"] == .bool(true))
            let sparse = try #require(records["churn-sparse"])
            #expect(sparse["prediction"] == .null && sparse["score"] == .null && sparse["latency_ms"] == .null && sparse["label"] == .null)
            let classes = try JSONDecoder().decode([String: Double].self, from: Data(try #require(sparse["probabilities"]?.text).utf8))
            #expect(classes == ["a": 0.25, "b": 0.75])
            #expect(sparse["embeddings"] == .text("[0.5,1.5]"))

            // The audit entry names each file, its rows and its hash; no hidden partial file is left.
            let audit = try await AuditLog(database: database).list(subject: "inference_log")
            guard case let .array(files)? = audit.first?.details["archived_files"] else {
                Issue.record("no archived_files in \(audit)")
                return
            }
            let named = files.compactMap { file -> String? in
                guard case let .object(fields) = file, case let .string(path)? = fields["path"], case let .string(hash)? = fields["sha256"] else { return nil }
                return path + " " + hash
            }
            #expect(Set(named) == Set(report.archivedFiles.map { $0.path + " " + $0.sha256 }))
            let left = FileManager.default.enumerator(atPath: folder.path)?.compactMap { $0 as? String } ?? []
            #expect(!left.contains { $0.hasSuffix(".partial") }, "\(left)")
        }
    }
}
