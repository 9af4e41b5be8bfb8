import Foundation
import Testing
import VigilEngine
import VigilStore
import VigilTesting
import VigilWorkflow

/// Loading the same data twice changes nothing; labels are corrected, not duplicated, and may come first.
@Suite("Idempotent ingest", .timeLimit(.minutes(3)))
struct IdempotentIngestTests {
    /// Every metric table of model `churn`, as sorted text rows, for comparing two databases.
    static func metrics(in database: Database) async throws -> [String] {
        var rows: [String] = []
        let tables = [
            try await database.client.query("""
                SELECT window_start_time::text || feature_name || coalesce(slice_value, '') || round(drift_score::numeric, 9) || drifted
                FROM drift_metrics WHERE model = 'churn'
                """, logger: database.logger),
            try await database.client.query("""
                SELECT window_start_time::text || metric || coalesce(slice_value, '') || round(value::numeric, 9) || row_count
                FROM performance_metrics WHERE model = 'churn'
                """, logger: database.logger),
            try await database.client.query("""
                SELECT window_start_time::text || metric || coalesce(slice_value, '') || round(value::numeric, 9) || row_count
                FROM operational_metrics WHERE model = 'churn'
                """, logger: database.logger),
            try await database.client.query("""
                SELECT window_start_time::text || feature_name || coalesce(slice_value, '') || row_count FROM integrity_metrics WHERE model = 'churn'
                """, logger: database.logger),
        ]
        for table in tables {
            for try await row in table.decode(String.self) { rows.append(row) }
        }
        return rows.sorted()
    }

    @Test("the same inference file loaded twice: the second load inserts nothing and reports every row already present; row count and every metric equal a single load")
    func sameFileTwice() async throws {
        let url = SyntheticLog.temporaryFile("twice.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try SyntheticLog.write(to: url, hours: 8, perHour: 200, seed: 5, shiftFrom: 6, labelled: true)
        let baseline = MonitoredData.Baseline.fixed(start: "2025-11-24T00:00:00Z", end: "2025-11-24T02:00:00Z")
        let now = SyntheticLog.start.addingTimeInterval(8 * 3_600)
        let once = try await TestDatabase.withFresh { database in
            let report = try await SyntheticLog.ingest(url, into: database)
            #expect(report.rowsLoaded == 1_600 && report.alreadyPresent == 0)
            _ = try await SyntheticLog.monitor(database, baseline: baseline).run(now: now, runID: nil)
            return try await Self.metrics(in: database)
        }
        try await TestDatabase.withFresh { database in
            _ = try await SyntheticLog.ingest(url, into: database)
            let second = try await SyntheticLog.ingest(url, into: database)
            #expect(second.rowsRead == 1_600 && second.rowsLoaded == 0 && second.alreadyPresent == 1_600)
            #expect(second.labelOutcome.new == 0 && second.labelOutcome.corrected == 0 && second.labelOutcome.unchanged > 1_000)
            let stored = try await database.client.query("SELECT count(*)::int8 FROM inference_log", logger: database.logger).decode(Int.self).first { _ in true }
            #expect(stored == 1_600)
            _ = try await SyntheticLog.monitor(database, baseline: baseline).run(now: now, runID: nil)
            let twice = try await Self.metrics(in: database)
            #expect(!twice.isEmpty)
            #expect(twice == once)
        }
    }

    @Test("a batch repeating request ids, some already stored, inserts each request once; the same id under another role is another answer")
    func repeatedRequests() async throws {
        let url = SyntheticLog.temporaryFile("repeats.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try """
            request_id,ts,role,amount,tenure,tickets,plan
            a,2025-11-24T01:00:00Z,champion,1,2,3,pro
            b,2025-11-24T01:00:01Z,champion,1,2,3,pro
            a,2025-11-24T01:00:00Z,champion,9,9,9,pro
            a,2025-11-24T01:00:00Z,shadow,1,2,3,pro

            """.write(to: url, atomically: true, encoding: .utf8)
        try await TestDatabase.withFresh { database in
            let first = try await SyntheticLog.ingest(url, into: database)
            #expect(first.rowsLoaded == 3 && first.alreadyPresent == 1)
            // The first row of a request wins.
            let amount = try await database.client.query("SELECT features ->> 'amount' FROM inference_log WHERE request_id = 'a' AND role = 'champion'",
                                                         logger: database.logger).decode(String.self).first { _ in true }
            #expect(amount == "1")
            let batches = try await database.client.query("SELECT rows_loaded, already_present FROM ingest_batches ORDER BY id",
                                                          logger: database.logger).decode((Int, Int).self)
            var seen: [[Int]] = []
            for try await (loaded, present) in batches { seen.append([loaded, present]) }
            #expect(seen == [[3, 1]])
        }
    }

    @Test("labels: the same label again changes nothing; a different one is a correction, kept and audited, and metrics use it; a label before its inference waits and joins")
    func labels() async throws {
        let inferences = SyntheticLog.temporaryFile("inferences.csv"), labels = SyntheticLog.temporaryFile("labels.csv")
        let corrected = SyntheticLog.temporaryFile("corrected.csv"), late = SyntheticLog.temporaryFile("late.csv")
        defer { for url in [inferences, labels, corrected, late] { try? FileManager.default.removeItem(at: url) } }
        try "request_id,ts,prediction,amount,tenure,tickets,plan\nr1,2025-11-24T01:00:00Z,1,1,2,3,pro\nr2,2025-11-24T01:00:01Z,0,1,2,3,pro\n"
            .write(to: inferences, atomically: true, encoding: .utf8)
        try "request_id,label\nr1,1\nr2,0\nr3,1\n".write(to: labels, atomically: true, encoding: .utf8)
        try "request_id,label\nr1,1\nr2,1\n".write(to: corrected, atomically: true, encoding: .utf8)
        try "request_id,ts,prediction,amount,tenure,tickets,plan\nr3,2025-11-24T01:00:02Z,1,1,2,3,pro\n".write(to: late, atomically: true, encoding: .utf8)
        try await TestDatabase.withFresh { database in
            let store = LabelStore(database: database)
            _ = try await SyntheticLog.ingest(inferences, into: database)
            let first = try await store.load(try DataRecordReader(path: labels.path), model: "churn", actor: "labeller")
            #expect(first.labelOutcome.new == 3 && first.labelOutcome.unmatched == 1 && first.labelOutcome.unmatchedSample == ["r3"])
            let again = try await store.load(try DataRecordReader(path: labels.path), model: "churn", actor: "labeller")
            #expect(again.rowsLoaded == 0 && again.alreadyPresent == 3 && again.labelOutcome.unchanged == 3)

            let correction = try await store.load(try DataRecordReader(path: corrected.path), model: "churn", actor: "labeller")
            #expect(correction.labelOutcome.corrected == 1 && correction.labelOutcome.unchanged == 1)
            let kept = try await database.client.query("SELECT previous_label, label FROM label_corrections WHERE request_id = 'r2'",
                                                       logger: database.logger).decode((String, String).self).first { _ in true }
            #expect(kept?.0 == "0" && kept?.1 == "1")
            let newest = try await database.client.query("SELECT label FROM inference_labels WHERE request_id = 'r2'", logger: database.logger)
                .decode(String.self).first { _ in true }
            #expect(newest == "1")
            let audited = try await AuditLog(database: database).list(actor: "labeller", subject: "model:churn", limit: 10)
            #expect(audited.map(\.action) == ["labels.corrected"])
            #expect(audited.first?.details["corrected"] == .number(1))

            // r3's label came before its inference: it waits, then joins.
            _ = try await SyntheticLog.ingest(late, into: database)
            let waiting = try await database.client.query("SELECT count(*)::int8 FROM unmatched_labels", logger: database.logger).decode(Int.self).first { _ in true }
            #expect(waiting == 0)
            let joined = try await database.client.query("""
                SELECT count(*)::int8 FROM inference_log l JOIN inference_labels y ON y.model = l.model AND y.request_id = l.request_id
                """, logger: database.logger).decode(Int.self).first { _ in true }
            #expect(joined == 3)
        }
    }

    @Test("a label whose inference never arrives is dropped after the grace period, and said so")
    func graceExpires() async throws {
        let labels = SyntheticLog.temporaryFile("orphans.csv"), more = SyntheticLog.temporaryFile("more.csv")
        defer { for url in [labels, more] { try? FileManager.default.removeItem(at: url) } }
        try "request_id,label\nghost,1\n".write(to: labels, atomically: true, encoding: .utf8)
        try "request_id,label\nother,0\n".write(to: more, atomically: true, encoding: .utf8)
        try await TestDatabase.withFresh { database in
            let store = LabelStore(database: database)
            _ = try await store.load(try DataRecordReader(path: labels.path), model: "churn", actor: "t", grace: WorkflowDuration(seconds: 3_600))
            try await database.client.query("UPDATE unmatched_labels SET received_at = now() - interval '2 hours' WHERE request_id = 'ghost'", logger: database.logger)
            let report = try await store.load(try DataRecordReader(path: more.path), model: "churn", actor: "t", grace: WorkflowDuration(seconds: 3_600))
            #expect(report.labelOutcome.expired == 1)
            let left = try await database.client.query("SELECT request_id FROM inference_labels ORDER BY 1", logger: database.logger).decode(String.self)
            var ids: [String] = []
            for try await id in left { ids.append(id) }
            #expect(ids == ["other"])
        }
    }

    @Test("a label file may say when each label became known (label_ts); a bad time is quarantined by line; an unknown column is an error naming it, and loads nothing")
    func labelArrivalTime() async throws {
        let labels = SyntheticLog.temporaryFile("known.csv"), unknown = SyntheticLog.temporaryFile("unknown.csv")
        defer { for url in [labels, unknown] { try? FileManager.default.removeItem(at: url) } }
        try "request_id,label,label_ts\nr1,1,2025-12-08T09:30:00Z\nr2,0,\nr3,1,next tuesday\n".write(to: labels, atomically: true, encoding: .utf8)
        try "request_id,label,labeled_at\nr4,1,2025-12-08T09:30:00Z\n".write(to: unknown, atomically: true, encoding: .utf8)
        try await TestDatabase.withFresh { database in
            let store = LabelStore(database: database)
            let before = Date()
            let report = try await store.load(try DataRecordReader(path: labels.path), model: "churn", actor: "labeller")
            #expect(report.rowsLoaded == 2 && report.quarantined == 1)
            #expect(report.quarantineSample.first.map { "\($0.line) \($0.column ?? "")" } == "4 label_ts")
            let rows = try await database.client.query("SELECT request_id, known_at, received_at FROM inference_labels ORDER BY 1", logger: database.logger)
                .decode((String, Date, Date).self)
            var known: [String: (Date, Date)] = [:]
            for try await (id, knownAt, receivedAt) in rows { known[id] = (knownAt, receivedAt) }
            // As stated for r1; the ingest time for r2, which states none. Both taken in now.
            #expect(known["r1"]?.0 == Date(timeIntervalSince1970: 1_765_186_200))
            #expect((known["r2"]?.0).map { $0 >= before.addingTimeInterval(-1) } == true)
            #expect(known.values.allSatisfy { $0.1 >= before.addingTimeInterval(-1) })

            do {
                _ = try await store.load(try DataRecordReader(path: unknown.path), model: "churn", actor: "labeller")
                Issue.record("a label file with an unknown column loaded")
            } catch let error as DataFileError {
                #expect(error.description.contains(":1:") && error.description.contains("unknown column 'labeled_at'"), "\(error)")
            }
            let count = try await database.client.query("SELECT count(*)::int8 FROM inference_labels", logger: database.logger).decode(Int.self).first { _ in true }
            #expect(count == 2)
        }
    }
}
