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
            #expect(verified.status == 0 && verified.standardOutput == "audit log intact: 5 entries verified\n")

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
}
