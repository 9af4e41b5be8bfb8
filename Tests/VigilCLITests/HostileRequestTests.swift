import Foundation
import Testing
import VigilStore
import VigilTesting

/// Requests an attacker or a careless client sends: each gets a 4xx JSON error within a second,
/// and `vigil serve` stays up and keeps serving.
@Suite("vigil serve under hostile requests", .timeLimit(.minutes(4)))
struct HostileRequestTests {
    static let maxBody = 1 << 20

    /// A head for `POST path` with an operator's token and `extra` header lines.
    static func head(_ path: String, token: String, _ extra: [String]) -> String {
        (["POST \(path) HTTP/1.1", "Host: 127.0.0.1", "Authorization: Bearer \(token)"] + extra).joined(separator: "\r\n") + "\r\n\r\n"
    }

    static func csv(_ timestamp: String) -> String { "request_id,ts,amount\nr1,\(timestamp),1\n" }

    static func hostileRequests(token: String) -> [(name: String, bytes: [UInt8], status: Int)] {
        let ingest = "/api/v1/models/shop/inferences"
        func csvRequest(_ body: String) -> [UInt8] {
            Array((head(ingest, token: token, ["Content-Type: text/csv", "Content-Length: \(body.utf8.count)"]) + body).utf8)
        }
        func jsonRequest(_ body: [UInt8]) -> [UInt8] {
            Array(head("/api/v1/silences", token: token, ["Content-Type: application/json", "Content-Length: \(body.count)"]).utf8) + body
        }
        var requests: [(String, [UInt8], Int)] = [
            ("timestamp 99999999999999999999", csvRequest(csv("99999999999999999999")), 400),
            ("timestamp -99999999999", csvRequest(csv("-99999999999")), 400),
            ("timestamp 1e300", csvRequest(csv("1e300")), 400),
            ("timestamp NaN", csvRequest(csv("NaN")), 400),
            ("a silence for 99999999999d", jsonRequest(Array(#"{"model": "shop", "for": "99999999999d", "reason": "hostile"}"#.utf8)), 422),
            ("NUL in JSON", jsonRequest(Array(#"{"model": "sh\u0000op", "for": "1h", "reason": "hostile"}"#.utf8)), 400),
            ("invalid UTF-8 in JSON", jsonRequest(Array(#"{"model": "sh"#.utf8) + [0xFF, 0xFE] + Array(#"op", "for": "1h", "reason": "hostile"}"#.utf8)), 400),
            ("Content-Length: 10000000000000", Array(head(ingest, token: token, ["Content-Type: text/csv", "Content-Length: 10000000000000"]).utf8), 413),
            ("a chunk size of FFFFFFFFFFFFFFFF", Array((head(ingest, token: token, ["Content-Type: text/csv", "Transfer-Encoding: chunked"]) + "FFFFFFFFFFFFFFFF\r\nrequest_id").utf8), 413),
            ("10,000 headers", Array(head("/api/v1/alerts", token: token, (0..<10_000).map { "X-Filler-\($0): x" }).utf8), 431),
        ]
        // 3 MB of CSV, declared and streamed in chunks.
        let rows = String(repeating: "r,2026-11-24T10:00:00Z,1\n", count: 3_000_000 / 25)
        requests.append(("a 3 MB CSV body", csvRequest("request_id,ts,amount\n" + rows), 413))
        let chunk = String(repeating: "r,2026-11-24T10:00:00Z,1\n", count: 2_000)
        let chunks = String(repeating: "\(String(chunk.utf8.count, radix: 16))\r\n\(chunk)\r\n", count: 3_000_000 / chunk.utf8.count) + "0\r\n\r\n"
        requests.append(("a 3 MB chunked CSV body", Array((head(ingest, token: token, ["Content-Type: text/csv", "Transfer-Encoding: chunked"]) + chunks).utf8), 413))
        return requests
    }

    @Test("the crashing timestamps and silence, NUL, invalid UTF-8, oversized, endless and header-flooded requests each get a 4xx JSON error within a second; the server keeps serving and stored nothing")
    func hostileRequests() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let token = try await TokenStore(database: database).create(principal: "careless-client", roles: [.operator], sensitiveModels: [], actor: "t", now: Date()).token
            let (base, server) = try await startServe(url: url, environment: VigilProcess.cleanEnvironment(), maxBody: Self.maxBody)
            defer { kill(server.processIdentifier, SIGTERM) }
            let port = try #require(Int(base.split(separator: ":").last ?? ""))
            for (name, bytes, status) in Self.hostileRequests(token: token) {
                let answer = await RawHTTP.exchange(port: port, bytes, timeout: 5)
                #expect(answer.status == status, "\(name): \(answer.text.prefix(300))")
                #expect(answer.seconds < 1, "\(name) took \(answer.seconds) s")
                let error = answer.json?["error"] as? [String: Any]
                #expect(error?["status"] as? Int == status && (error?["message"] as? String)?.isEmpty == false, "\(name): not the JSON error shape: \(answer.text.prefix(300))")
                let health = await RawHTTP.exchange(port: port, Array("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
                #expect(health.status == 200, "after \(name) the server no longer answers: \(health.text.prefix(200))")
            }
            #expect(kill(server.processIdentifier, 0) == 0, "vigil serve died")
            let stored = try await database.client.query("SELECT (SELECT count(*) FROM inference_log) + (SELECT count(*) FROM alert_silences)", logger: database.logger)
            for try await count in stored.decode(Int.self) { #expect(count == 0) }
            // A good request still works on the same server.
            let good = await RawHTTP.exchange(port: port, Array((Self.head("/api/v1/models/shop/inferences", token: token,
                ["Content-Type: text/csv", "Content-Length: \(Self.csv("1764000000123").utf8.count)", "Connection: close"]) + Self.csv("1764000000123")).utf8))
            #expect(good.status == 201, "\(good.text)")
        }
    }

    @Test("a client that never finishes its request head is answered 408 and the connection is closed")
    func slowClient() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let (base, server) = try await startServe(url: url, environment: VigilProcess.cleanEnvironment())
            defer { kill(server.processIdentifier, SIGTERM) }
            let port = try #require(Int(base.split(separator: ":").last ?? ""))
            let answer = await RawHTTP.exchange(port: port, Array("GET /health HTTP/1.1\r\nHost: x\r\n".utf8), timeout: 20)
            #expect(answer.status == 408, "\(answer.text)")
            #expect(answer.seconds >= 9 && answer.seconds < 15, "closed after \(answer.seconds) s")
        }
    }

    @Test("vigil ingest of a file holding an out-of-range timestamp exits 1, names the line and the accepted range, and loads nothing")
    func ingestOutOfRange() async throws {
        // One database for all of them: each file is for a model of its own.
        try await TestDatabase.withFresh { database in
            for (index, timestamp) in ["99999999999999999999", "-99999999999", "1e300", "NaN", "inf", "1969-12-31T23:59:59Z"].enumerated() {
                let file = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-hostile-\(UUID().uuidString).csv")
                defer { try? FileManager.default.removeItem(at: file) }
                try "request_id,ts,amount\nr1,2026-11-24T10:00:00Z,1\nr2,\(timestamp),2\nr3,2026-11-24T10:00:02Z,3\n".write(to: file, atomically: true, encoding: .utf8)
                let result = try await VigilProcess.run(["ingest", file.path, "--model", "shop\(index)"], on: database)
                #expect(result.status == 1, "\(timestamp): \(result.standardError)")
                #expect(result.standardError.contains("\(file.path):3: ts '\(timestamp)' is out of range"), "\(result.standardError)")
                #expect(result.standardError.contains("1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z"))
            }
            let rows = try await database.client.query("SELECT count(*) FROM inference_log", logger: database.logger)
            for try await count in rows.decode(Int.self) { #expect(count == 0) }
        }
    }

    /// A hostile data file: its bytes, and what `vigil ingest` must do with it.
    struct HostileFile: Sendable {
        let name: String
        let bytes: [UInt8]
        /// For a file refused whole: what the one-line error says after `file:`.
        let error: String?
        /// For a file that loads: rows inserted and quarantined.
        let inserted: Int
        let quarantined: Int

        static let header = Array("request_id,ts,amount,plan\n".utf8)
        static func row(_ id: String, _ extra: [UInt8] = Array("1,pro".utf8)) -> [UInt8] { Array("\(id),2026-11-24T10:00:00Z,".utf8) + extra + [10] }

        static let all: [HostileFile] = [
            HostileFile(name: "nul.csv", bytes: header + row("a") + row("b", Array("1,p".utf8) + [0] + Array("ro".utf8)), error: ":3: the line holds a NUL byte", inserted: 0, quarantined: 0),
            HostileFile(name: "invalid-utf8-feature.csv", bytes: header + row("a") + row("b", Array("1,".utf8) + [0xFF, 0xFE]), error: nil, inserted: 1, quarantined: 1),
            HostileFile(name: "invalid-utf8-id.csv", bytes: header + row("a") + Array("b".utf8) + [0xC3, 0x28] + Array(",2026-11-24T10:00:00Z,1,pro\n".utf8), error: nil, inserted: 1, quarantined: 1),
            // No workflow declares `amount` here: a number too large for a double is kept as the text it was.
            HostileFile(name: "huge-number.csv", bytes: header + row("a", Array("99999999999999999999999999,pro".utf8)) + row("b", Array("1e400,pro".utf8)), error: nil, inserted: 2, quarantined: 0),
            HostileFile(name: "long-line.csv", bytes: header + row("a", Array("1,".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)), error: nil, inserted: 1, quarantined: 0),
            HostileFile(name: "ragged.csv", bytes: header + row("a") + row("b", Array("1,pro,extra".utf8)), error: ":3: expected 4 fields as in the header, found 5", inserted: 0, quarantined: 0),
            HostileFile(name: "bom-crlf.csv", bytes: [0xEF, 0xBB, 0xBF] + Array("request_id,ts,amount,plan\r\na,2026-11-24T10:00:00Z,1,pro\r\nb,2026-11-24T10:00:01Z,2,pro\r\n".utf8),
                         error: nil, inserted: 2, quarantined: 0),
            HostileFile(name: "huge-number.jsonl", bytes: Array(#"{"request_id": "a", "ts": "2026-11-24T10:00:00Z", "amount": 1e400}"#.utf8) + [10], error: ":1: not valid JSON", inserted: 0, quarantined: 0),
            HostileFile(name: "nan-timestamp.jsonl", bytes: Array(#"{"request_id": "a", "ts": "NaN", "amount": 1}"#.utf8) + [10], error: ":1: ts 'NaN' is out of range", inserted: 0, quarantined: 0),
        ]
    }

    @Test("vigil ingest of hostile files: refused whole with the line named, or loaded with bad rows quarantined; never a crash or a half load")
    func hostileFiles() async throws {
        // One database for all of them: each file is for a model of its own.
        try await TestDatabase.withFresh { database in
            for hostile in HostileFile.all {
                let model = "shop-" + hostile.name.replacingOccurrences(of: ".", with: "-")
                let file = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(UUID().uuidString)-\(hostile.name)")
                defer { try? FileManager.default.removeItem(at: file) }
                try Data(hostile.bytes).write(to: file)
                let result = try await VigilProcess.run(["ingest", file.path, "--model", model, "--format", "json"], on: database)
                let stored = try await database.client.query("SELECT count(*)::int8 FROM inference_log WHERE model = \(model)", logger: database.logger)
                    .decode(Int.self).first { _ in true }
                if let error = hostile.error {
                    #expect(result.status == 1, "\(hostile.name): \(result.standardOutput)\(result.standardError)")
                    #expect(result.standardError.hasPrefix("vigil: error: \(file.path)\(error)"), "\(hostile.name): \(result.standardError)")
                    #expect(result.standardError.split(separator: "\n").count == 1, "\(hostile.name)")
                    #expect(stored == 0, "\(hostile.name)")
                } else {
                    #expect(result.status == 0, "\(hostile.name): \(result.standardError)")
                    let report = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
                    #expect(report?["rows_loaded"] as? Int == hostile.inserted && report?["quarantined"] as? Int == hostile.quarantined, "\(hostile.name): \(result.standardOutput)")
                    #expect(stored == hostile.inserted, "\(hostile.name)")
                }
            }
        }
    }

    @Test("numbers out of range (and an archive directory that cannot be made) on the command line are an error naming the option and what it accepts", arguments: [
        (["serve", "--port", "70000"], "--port must be from 0 to 65535"),
        (["serve", "--max-body", "99999999999999"], "--max-body must be from 1024 to 1073741824 bytes"),
        (["worker", "--lease", "99999999999d"], "--lease must be a duration from 1s to 1d"),
        (["worker", "--concurrency", "0"], "--concurrency must be from 1 to 1024"),
        (["alerts", "silence", "--model", "m", "--for", "99999999999d", "--reason", "r"], "--for must be a duration from 1s to 36500d"),
        (["runs", "list", "--limit", "0"], "--limit must be from 1 to 100000"),
        (["audit", "verify", "--head", "12:abc"], "--head must be ID:HASH"),
        (["simulate", "--hours", "99999999"], "--hours must be from 1 to 8784"),
        (["serve", "--retention-archive", "/dev/null/archive"], "--retention-archive /dev/null/archive: cannot create the directory"),
    ])
    func commandLineRanges(arguments: [String], message: String) async throws {
        // Refused before any database is opened: an address that answers nothing proves it.
        let result = try await VigilProcess.run(arguments + ["--database-url", "postgres://vigil@127.0.0.1:1/none"], environment: VigilProcess.cleanEnvironment())
        #expect(result.status != 0 && result.status != 132 && result.status != 134, "\(arguments): exit \(result.status)")
        #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
    }
}
