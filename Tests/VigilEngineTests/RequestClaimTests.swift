import Foundation
import Testing
@testable import VigilStore
import VigilTesting
import VigilWorkflow

/// How ingest claims requests: 16-byte keys computed in Swift and in SQL alike, COPY for new
/// files, and a second pass with per-row checks when a file repeats stored requests.
@Suite("Request claims", .timeLimit(.minutes(3)))
struct RequestClaimTests {
    static func load(_ text: String, into database: Database, chunkRows: Int = 50_000, model: String = "churn") async throws -> IngestReport {
        let url = SyntheticLog.temporaryFile("claims.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try text.write(to: url, atomically: true, encoding: .utf8)
        var options = InferenceIngest.Options(model: model, features: SyntheticLog.features, actor: "test")
        options.chunkRows = chunkRows
        return try await InferenceIngest(database: database).load(try DataRecordReader(path: url.path), options: options)
    }

    static func rows(_ ids: [String], role: String = "champion", amount: Int = 1) -> String {
        ids.enumerated().map { index, id in "\(id),2025-11-24T01:00:\(String(format: "%02d", index % 60))Z,\(role),\(amount),2,3,pro\n" }.joined()
    }

    static let header = "request_id,ts,role,amount,tenure,tickets,plan\n"

    @Test("a key computed in Swift equals vigil_request_key() in SQL, as text and as a uuid, for ASCII, Unicode, tabs, backslashes and an empty id; the model's length keeps (model, id) splits apart")
    func keysAgree() async throws {
        let cases: [(String, String)] = [
            ("churn", "r-1"), ("churn", ""), ("modèle", "ünïcødé-🙂"), ("churn", "tab\there\\back\\slash"),
            ("ab", "c"), ("a", "bc"), (String(repeating: "m", count: 300), String(repeating: "x", count: 5_000)),
        ]
        try await TestDatabase.withFresh { database in
            var seen = Set<RequestKey>()
            for (model, requestID) in cases {
                let key = RequestKeys(model: model).key(requestID: requestID)
                var text = CopyText(capacity: 36)
                text.uuid(key)
                let sql = try await database.client.query("SELECT vigil_request_key(\(model), \(requestID))::text, vigil_request_key(\(model), \(requestID))",
                                                          logger: database.logger).decode((String, UUID).self).first { _ in true }
                #expect(sql?.0 == String(decoding: text.bytes, as: UTF8.self), "\(model) / \(requestID)")
                #expect(sql?.1 == key.uuid, "\(model) / \(requestID)")
                seen.insert(key)
            }
            #expect(seen.count == cases.count)
        }
    }

    @Test("a file whose third chunk repeats a stored request, and whose fifth repeats its own first, stores each request once: 4 loaded, 2 already present, in one batch")
    func laterChunksRepeat() async throws {
        try await TestDatabase.withFresh { database in
            let first = try await Self.load(Self.header + Self.rows(["a", "b"]), into: database)
            #expect(first.rowsLoaded == 2 && first.alreadyPresent == 0)
            // Chunks of two: [c, d] new, [a, e] repeats a stored one, [c, f] repeats the file's own c.
            let second = try await Self.load(Self.header + Self.rows(["c", "d", "a", "e"]) + Self.rows(["c", "f"], amount: 9), into: database, chunkRows: 2)
            #expect(second.rowsRead == 6 && second.rowsLoaded == 4 && second.alreadyPresent == 2)
            let stored = try await database.client.query("SELECT request_id, features ->> 'amount' FROM inference_log ORDER BY 1", logger: database.logger)
                .decode((String, String).self)
            var amounts: [String] = []
            for try await (id, amount) in stored { amounts.append("\(id)=\(amount)") }
            // c keeps its first row's amount.
            #expect(amounts == ["a=1", "b=1", "c=1", "d=1", "e=1", "f=9"])
            let claims = try await database.client.query("SELECT count(*)::int8 FROM inference_requests", logger: database.logger).decode(Int.self).first { _ in true }
            #expect(claims == 6)
            let batches = try await database.client.query("SELECT rows_loaded, already_present FROM ingest_batches ORDER BY id", logger: database.logger)
                .decode((Int, Int).self)
            var seen: [[Int]] = []
            for try await (loaded, present) in batches { seen.append([loaded, present]) }
            #expect(seen == [[2, 0], [4, 2]])
        }
    }

    @Test("two overlapping files loaded at the same moment store each request once, and their counts add up")
    func concurrentOverlap() async throws {
        try await TestDatabase.withFresh { database in
            let left = (0..<3_000).map { "r\($0)" }, right = (2_000..<5_000).map { "r\($0)" }
            async let one = Self.load(Self.header + Self.rows(left), into: database, chunkRows: 500)
            async let two = Self.load(Self.header + Self.rows(right), into: database, chunkRows: 500)
            let (a, b) = try await (one, two)
            #expect(a.rowsLoaded + b.rowsLoaded == 5_000)
            #expect(a.alreadyPresent + b.alreadyPresent == 1_000)
            let stored = try await database.client.query("SELECT count(*)::int8, count(DISTINCT request_id)::int8 FROM inference_log", logger: database.logger)
                .decode((Int, Int).self).first { _ in true }
            #expect(stored?.0 == 5_000 && stored?.1 == 5_000)
        }
    }

    @Test("a request is claimed once per UTC day of its timestamp, in that day's partition: re-sent later the same day it is already present, on another day it is another row; a label finds its inference on any day, and one with none waits")
    func claimsByDay() async throws {
        try await TestDatabase.withFresh { database in
            let first = try await Self.load(Self.header + """
                a,2025-11-24T01:00:00Z,champion,1,2,3,pro
                b,2025-11-25T02:00:00Z,champion,1,2,3,pro
                c,2025-11-26T03:00:00Z,champion,1,2,3,pro

                """, into: database)
            #expect(first.rowsLoaded == 3)
            let second = try await Self.load(Self.header + """
                a,2025-11-24T23:59:59.999999Z,champion,2,2,3,pro
                a,2025-11-25T00:00:00Z,champion,3,2,3,pro

                """, into: database)
            #expect(second.rowsRead == 2 && second.rowsLoaded == 1 && second.alreadyPresent == 1)
            let claims = try await database.client.query("""
                SELECT tableoid::regclass::text || ':' || request_id || ':' || day FROM inference_requests ORDER BY 1
                """, logger: database.logger).collect().map { try $0.decode(String.self) }
            #expect(claims == [
                "inference_requests_20251124:a:2025-11-24", "inference_requests_20251125:a:2025-11-25",
                "inference_requests_20251125:b:2025-11-25", "inference_requests_20251126:c:2025-11-26",
            ])

            let url = SyntheticLog.temporaryFile("labels.csv")
            defer { try? FileManager.default.removeItem(at: url) }
            try "request_id,label\nc,1\na,0\nzz,1\nb,1\n".write(to: url, atomically: true, encoding: .utf8)
            let labels = try await LabelStore(database: database).load(try DataRecordReader(path: url.path), model: "churn", actor: "test")
            #expect(labels.labelOutcome.new == 4 && labels.labelOutcome.unmatched == 1 && labels.labelOutcome.unmatchedSample == ["zz"], "\(labels.labelOutcome)")
        }
    }

    @Test("a file with rows months apart gets partitions for its days only, not for every day between")
    func partitionsForItsDaysOnly() async throws {
        try await TestDatabase.withFresh { database in
            let report = try await Self.load(Self.header + "a,2025-01-10T01:00:00Z,champion,1,2,3,pro\nb,2025-01-11T01:00:00Z,champion,1,2,3,pro\nc,2025-09-30T01:00:00Z,champion,1,2,3,pro\n", into: database)
            #expect(report.rowsLoaded == 3)
            for parent in ["inference_log", "inference_requests"] {
                let names = try await database.client.query("""
                    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = \(parent)::regclass ORDER BY 1
                    """, logger: database.logger).collect().map { try $0.decode(String.self) }
                #expect(names == ["20250110", "20250111", "20250930"].map { parent + "_" + $0 }, "\(names)")
            }
        }
    }

    @Test("a day partition's name gives its day, for the log and the claims alike; other names give none")
    func partitionNames() {
        let day = Timestamp.daysFromCivil(year: 2025, month: 11, day: 24)
        #expect(PartitionDays.day(ofPartition: "inference_log_20251124", of: "inference_log") == day)
        #expect(PartitionDays.day(ofPartition: "inference_requests_20251124", of: "inference_requests") == day)
        for name in ["inference_log_2025112", "inference_log_202511245", "inference_log_2025-1124", "inference_log_+0251124",
                     "inference_requests_20251124", "inference_log_２０２５１１２４", "inference_log"] {
            #expect(PartitionDays.day(ofPartition: name, of: "inference_log") == nil, "\(name)")
        }
    }
}
