import Foundation
import Testing
import VigilStore
import VigilTesting

@Suite("vigil incidents")
struct IncidentsCommandTests {
    @Test("a drift onset recorded with `vigil incidents record` or the API is what `vigil report` measures from; without one the report says so instead of a figure; bad input is refused and changes nothing")
    func recordAndReport() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            func vigil(_ arguments: String...) async throws -> VigilProcess.Output {
                try await VigilProcess.run(arguments + ["--database-url", url], environment: environment)
            }
            let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 10 * 86_400).rounded(.down))
            func at(_ hours: Double) -> Date { start.addingTimeInterval(hours * 3_600) }
            func stamp(_ hours: Double) -> String { ISO8601DateFormatter().string(from: at(hours)) }
            try await ModelRegistry(database: database).register(NewModelVersion(artifactURI: "s3://m/fraud/1", framework: "external"), of: "fraud",
                                                                 alias: "champion", actor: "t", now: at(-1))
            _ = try await AlertStore(database: database).raise(AlertFinding(model: "fraud", rule: "fraud-drift", severity: .hard),
                                                               idempotencyKey: nil, runID: nil, actor: "monitor", now: at(5))

            let before = try await vigil("report", "--model", "fraud")
            #expect(before.status == 0, "\(before.standardError)")
            #expect(before.standardOutput.contains("drift onset → first alert") && before.standardOutput.contains("not measured: no recorded drift onsets (`vigil incidents record`)"))
            #expect(before.standardOutput.contains("No drift onset is recorded for this period"))

            for (arguments, error) in [
                (["--onset", "yesterday"], "--onset takes an RFC 3339 time such as 2026-11-24T06:00:00Z (got 'yesterday')"),
                (["--onset", stamp(2), "--kind", "weather"], "--kind must be one of data, concept, gradual, serving (got 'weather')"),
                (["--onset", stamp(2), "--ended", stamp(1)], "the end must come after the onset"),
            ] {
                let refused = try await VigilProcess.run(["incidents", "record", "--model", "fraud", "--cause", "x"] + arguments + ["--database-url", url], environment: environment)
                #expect(refused.status != 0 && refused.standardError.contains(error), "\(refused.standardError)")
            }
            let unknown = try await vigil("incidents", "record", "--model", "nope", "--onset", stamp(2), "--cause", "x")
            #expect(unknown.status != 0 && unknown.standardError.contains("no model named 'nope'"), "\(unknown.standardError)")
            #expect(try await DriftEpisodes(database: database).list(model: "fraud").isEmpty)

            let recorded = try await vigil("incidents", "record", "--model", "fraud", "--onset", stamp(2), "--cause", "a partner changed its currency", "--as", "carol")
            #expect(recorded.status == 0 && recorded.standardOutput.hasPrefix("recorded incident "), "\(recorded.standardError)")
            let list = try await vigil("incidents", "list", "--model", "fraud", "--format", "json")
            let rows = try JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8)) as? [[String: Any]] ?? []
            #expect(rows.count == 1 && rows.first?["recorded_by"] as? String == "carol" && rows.first?["cause"] as? String == "a partner changed its currency")
            let audit = try await AuditLog(database: database).list(subject: "model:fraud").filter { $0.action == "drift_episode_recorded" }
            #expect(audit.map(\.actor) == ["carol"] && audit.first?.reason == "a partner changed its currency")

            let after = try await vigil("report", "--model", "fraud")
            #expect(after.status == 0)
            let onsetRow = after.standardOutput.split(separator: "\n").first { $0.contains("drift onset → first alert") } ?? ""
            #expect(onsetRow.hasSuffix("  3h"), "\(onsetRow)")
            #expect(after.standardOutput.contains("rest on 1 known drift onset (1 recorded by people)"))
            #expect(!after.standardOutput.contains("not measured: no recorded drift onsets"))

            // The same through the API, by an operator's token.
            let token = try await TokenStore(database: database).create(principal: "risk-bot", roles: [.operator, .viewer], sensitiveModels: [], actor: "t", now: Date()).token
            let (base, server) = try await startServe(url: url, environment: environment)
            defer { kill(server.processIdentifier, SIGTERM) }
            let api = APIClient(base: base)
            let created = try await api.call("POST", "/api/v1/models/fraud/incidents", token: token,
                                             body: #"{"onset": "\#(stamp(40))", "duration": "2d", "kind": "concept", "cause": "a new fraud pattern"}"#)
            #expect(created.status == 201 && created.json["recorded_by"] as? String == "risk-bot" && created.json["kind"] as? String == "concept", "\(created.json)")
            #expect(created.json["ended"] as? String == stamp(88), "\(created.json)")
            let bad = try await api.call("POST", "/api/v1/models/fraud/incidents", token: token, body: #"{"onset": "\#(stamp(40))"}"#)
            #expect(bad.status == 422 && ((bad.json["error"] as? [String: Any])?["message"] as? String)?.contains("'cause' is required") == true, "\(bad.json)")
            let missing = try await api.call("POST", "/api/v1/models/nope/incidents", token: token, body: #"{"onset": "\#(stamp(40))", "cause": "x"}"#)
            #expect(missing.status == 404)
            let listed = try await api.call("GET", "/api/v1/models/fraud/incidents", token: token)
            #expect((listed.json["incidents"] as? [[String: Any]])?.map { $0["recorded_by"] as? String } == ["carol", "risk-bot"])
        }
    }
}
