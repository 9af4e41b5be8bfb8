import Foundation
import Testing
import VigilStore
import VigilTesting

@Suite("vigil audit and vigil tokens")
struct AuditCommandTests {
    @Test("actions are audited with who and why; the chain verifies; a one-character edit by a superuser is found and named")
    func tamperEvidence() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            func vigil(_ arguments: String...) async throws -> VigilProcess.Output {
                try await VigilProcess.run(arguments + ["--database-url", url], environment: environment)
            }
            let alert = try await AlertStore(database: database).raise(
                AlertFinding(model: "churn", rule: "churn-drift", severity: .hard), idempotencyKey: nil, runID: nil, actor: "workflow:watch", now: Date()
            ).alert
            #expect(try await vigil("alerts", "ack", String(alert.id), "--reason", "on it", "--as", "alice").status == 0)
            let created = try await vigil("tokens", "create", "--principal", "grafana", "--role", "viewer", "--as", "admin-bob")
            #expect(created.status == 0, "\(created.standardError)")
            let token = try #require(created.standardOutput.split(separator: "\n").last.map(String.init))
            #expect(token.hasPrefix("vgl_") && token.count > 40)
            let stored = try await database.client.query("SELECT token_hash FROM api_tokens").decode(String.self).first { _ in true }
            #expect(stored == token.sha256Hex && stored != token)
            #expect(try await vigil("tokens", "revoke", "1", "--reason", "rotated", "--as", "admin-bob").status == 0)
            #expect(try await vigil("alerts", "resolve", String(alert.id), "--reason", "fixed", "--as", "carol").status == 0)

            let list = try await vigil("audit", "list")
            let actions = list.standardOutput.split(separator: "\n").dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true)[3] }
            #expect(actions == ["alert.raised", "alert.acknowledged", "token.created", "token.revoked", "alert.resolved"], "\(list.standardOutput)")
            let mine = try await vigil("audit", "list", "--actor", "alice")
            #expect(mine.standardOutput.contains("alert.acknowledged") && mine.standardOutput.contains("on it") && !mine.standardOutput.contains("token."))
            let verified = try await vigil("audit", "verify")
            #expect(verified.status == 0 && verified.standardOutput.hasPrefix("audit log intact: 5 entries verified; head 5:"), "\(verified.standardOutput)")

            let export = try await vigil("audit", "export", "--format", "jsonl")
            let lines = export.standardOutput.split(separator: "\n")
            #expect(lines.count == 5)
            let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any] ?? [:]
            #expect(first["previous_hash"] as? String == String(repeating: "0", count: 64) && (first["hash"] as? String)?.count == 64)
            let csv = try await vigil("audit", "export", "--format", "csv", "--subject", "token:1")
            #expect(csv.standardOutput.split(separator: "\n").count == 3 && csv.standardOutput.hasPrefix("id,at,actor,action,subject,reason,details,previous_hash,hash\n"))

            // The service cannot change history: the table refuses UPDATE and DELETE.
            await #expect(throws: (any Error).self) { try await database.client.query("UPDATE audit_log SET reason = 'x' WHERE id = 2") }
            await #expect(throws: (any Error).self) { try await database.client.query("DELETE FROM audit_log WHERE id = 2") }

            // A superuser who bypasses the trigger still cannot hide an edit.
            try await database.transaction { connection in
                try await connection.query("SET LOCAL session_replication_role = replica", logger: database.logger)
                try await connection.query("UPDATE audit_log SET reason = 'on iT' WHERE id = 2", logger: database.logger)
            }
            let broken = try await vigil("audit", "verify")
            #expect(broken.status == 1)
            #expect(broken.standardError.hasPrefix("vigil: error: audit log broken at entry 2 ("), "\(broken.standardError)")
            #expect(broken.standardError.contains("alice alert.acknowledged alert:\(alert.id)): its content does not match its hash"))

            // Put it back, then remove an entry: the next one no longer follows.
            try await database.transaction { connection in
                try await connection.query("SET LOCAL session_replication_role = replica", logger: database.logger)
                try await connection.query("UPDATE audit_log SET reason = 'on it' WHERE id = 2", logger: database.logger)
            }
            #expect(try await vigil("audit", "verify").status == 0)
            try await database.transaction { connection in
                try await connection.query("SET LOCAL session_replication_role = replica", logger: database.logger)
                try await connection.query("DELETE FROM audit_log WHERE id = 3", logger: database.logger)
            }
            let removed = try await vigil("audit", "verify")
            #expect(removed.status == 1 && removed.standardError.contains("broken at entry 4 (") && removed.standardError.contains("it does not follow entry 2"))
        }
    }

    @Test("a saved head proves the end: deleting the newest entry, or the newest ten, is reported by verify --head; an edit still is; the database's own head catches a cut it was not moved back for")
    func cutEnd() async throws {
        try await TestDatabase.withFresh { database in
            func vigil(_ arguments: String...) async throws -> VigilProcess.Output { try await VigilProcess.run(arguments, on: database) }
            let log = AuditLog(database: database)
            for index in 1...20 {
                try await log.append(actor: "alice", action: "model.alias_moved", subject: "model:churn", reason: "step \(index)", at: Date())
            }
            let printed = try await vigil("audit", "head")
            #expect(printed.status == 0, "\(printed.standardError)")
            let head = try #require(AuditHead(printed.standardOutput))
            #expect(head.id == 20)
            let intact = try await vigil("audit", "verify", "--head", head.description)
            #expect(intact.status == 0 && intact.standardOutput.contains("20 entries verified and reaches the saved head 20"), "\(intact.standardOutput)\(intact.standardError)")

            /// A superuser's deletion of the newest `count` entries, moving the database's head back as well.
            func cut(_ count: Int) async throws {
                try await database.transaction { connection in
                    try await connection.query("SET LOCAL session_replication_role = replica", logger: database.logger)
                    try await connection.query("DELETE FROM audit_log WHERE id > (SELECT max(id) FROM audit_log) - \(count)", logger: database.logger)
                    try await connection.query("""
                        UPDATE audit_head SET last_id = l.id, last_hash = l.hash, entries = entries - \(count)
                        FROM (SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1) l
                        """, logger: database.logger)
                }
            }
            try await cut(1)
            // The database's head was moved back with the cut: only the saved head tells.
            #expect(try await vigil("audit", "verify").status == 0)
            let one = try await vigil("audit", "verify", "--head", head.description)
            #expect(one.status == 1 && one.standardError.contains("the log ends at entry 19, before the saved head's entry 20"), "\(one.standardError)")
            try await cut(9)
            let ten = try await vigil("audit", "verify", "--head", head.description)
            #expect(ten.status == 1 && ten.standardError.contains("the log ends at entry 10, before the saved head's entry 20"), "\(ten.standardError)")

            // A cut that leaves the database's head alone is caught without a saved head.
            let newer = try await vigil("audit", "head")
            try await database.transaction { connection in
                try await connection.query("SET LOCAL session_replication_role = replica", logger: database.logger)
                try await connection.query("DELETE FROM audit_log WHERE id = 10", logger: database.logger)
            }
            let unmoved = try await vigil("audit", "verify")
            #expect(unmoved.status == 1 && unmoved.standardError.contains("the log ends at entry 9, but its head says 10: the newest entries were removed"), "\(unmoved.standardError)")

            // An edit before the saved head is still found.
            try await database.transaction { connection in
                try await connection.query("SET LOCAL session_replication_role = replica", logger: database.logger)
                try await connection.query("UPDATE audit_log SET reason = 'step 3!' WHERE id = 3", logger: database.logger)
            }
            let edited = try await vigil("audit", "verify", "--head", newer.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(edited.status == 1 && edited.standardError.contains("broken at entry 3 ("), "\(edited.standardError)")

            // The head only moves forward.
            await #expect(throws: (any Error).self) { try await database.client.query("UPDATE audit_head SET last_id = 1", logger: database.logger) }
            await #expect(throws: (any Error).self) { try await database.client.query("DELETE FROM audit_head", logger: database.logger) }
            let malformed = try await vigil("audit", "verify", "--head", "20:xyz")
            #expect(malformed.status != 0 && malformed.standardError.contains("--head must be ID:HASH"))
        }
    }

    @Test("every run start is audited with its actor and cause: vigil run --as and vigil trigger")
    func runStarts() async throws {
        try await TestDatabase.withFresh { database in
            func vigil(_ arguments: String...) async throws -> VigilProcess.Output { try await VigilProcess.run(arguments, on: database) }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-starts-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try """
                name: nightly
                triggers:
                  - manual
                  - event: data-ready
                steps:
                  wait: { uses: sleep, with: { for: 1s } }
                """.write(to: folder.appendingPathComponent("nightly.yaml"), atomically: true, encoding: .utf8)
            #expect(try await vigil("apply", folder.path).status == 0)
            let manual = try await vigil("run", "nightly", "--as", "alice")
            #expect(manual.status == 0, "\(manual.standardError)")
            let triggered = try await vigil("trigger", "data-ready", "--as", "etl-bot")
            #expect(triggered.status == 0, "\(triggered.standardError)")
            let entries = try await AuditLog(database: database).list().filter { $0.action == "run.triggered" }
            #expect(entries.map(\.actor) == ["alice", "etl-bot"])
            #expect(entries.map(\.subject) == ["run:1", "run:2"])
            #expect(entries.map { $0.details["trigger"] } == [.string("manual"), .string("event")])
            #expect(entries.last?.details["name"] == .string("data-ready") && entries.first?.details["workflow"] == .string("nightly"))
        }
    }
}
