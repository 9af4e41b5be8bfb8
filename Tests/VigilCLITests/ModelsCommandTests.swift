import Foundation
import Testing
import VigilStore
import VigilTesting

@Suite("vigil models and vigil lineage")
struct ModelsCommandTests {
    @Test("register, alias by hand, routing for the serving layer, rollback, and a changelog that reads as the history")
    func registry() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            func vigil(_ arguments: String...) async throws -> VigilProcess.Output {
                try await VigilProcess.run(arguments + ["--database-url", url], environment: environment)
            }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-models-cli-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let artifact = folder.appendingPathComponent("model.bin")
            try Data("weights".utf8).write(to: artifact)

            let first = try await vigil("models", "register", "churn", "--artifact", artifact.path, "--alias", "champion", "--metrics", #"{"f1": 0.71}"#, "--as", "alice")
            #expect(first.status == 0 && first.standardOutput == "registered churn version 1 as champion\n", "\(first.standardError)")
            let second = try await vigil("models", "register", "churn", "--artifact", "s3://models/churn/2", "--framework", "xgboost", "--parent", "1", "--as", "alice")
            #expect(second.status == 0 && second.standardOutput == "registered churn version 2\n")
            let badMetrics = try await vigil("models", "register", "churn", "--artifact", "s3://x", "--metrics", "[1]")
            #expect(badMetrics.status != 0 && badMetrics.standardError.contains("--metrics must be a JSON object"))

            let moved = try await vigil("models", "alias", "churn", "champion", "2", "--reason", "validated offline", "--as", "bob")
            #expect(moved.status == 0 && moved.standardOutput == "churn champion → 2\n")
            let missing = try await vigil("models", "alias", "churn", "champion", "9", "--reason", "typo")
            #expect(missing.status != 0 && missing.standardError.contains("model churn has no version 9"))
            let canary = try await vigil("models", "alias", "churn", "canary", "2", "--reason", "x")
            #expect(canary.status != 0 && canary.standardError.contains("the canary alias belongs to promotions"))

            let routing = try await vigil("models", "routing", "churn", "--format", "json")
            let json = try JSONSerialization.jsonObject(with: Data(routing.standardOutput.utf8)) as? [String: Any] ?? [:]
            #expect(json["champion_version"] as? Int == 2 && json["canary_weight"] as? Double == 0 && json["model"] as? String == "churn")
            let view = try await database.client.query("SELECT champion_version FROM model_routing WHERE model = 'churn'").decode(Int.self).first { _ in true }
            #expect(view == 2)

            // Rollback needs a previous champion: none was recorded by a promotion, so it is refused.
            let refused = try await vigil("models", "rollback", "churn", "--reason", "regression", "--as", "carol")
            #expect(refused.status != 0 && refused.standardError.contains("no previous champion"))
            _ = try await vigil("models", "alias", "churn", "previous", "1", "--reason", "keep the old one at hand", "--as", "bob")
            let rollback = try await vigil("models", "rollback", "churn", "--reason", "complaints from support", "--as", "carol")
            #expect(rollback.status == 0 && rollback.standardOutput == "churn: champion 1 serves all traffic\n", "\(rollback.standardError)")

            let busy = try await vigil("models", "archive", "churn", "1", "--reason", "old")
            #expect(busy.status != 0 && busy.standardError.contains("version 1 of churn is the champion; move the alias before archiving it"))
            let previous = try await vigil("models", "archive", "churn", "2", "--reason", "old")
            #expect(previous.status != 0 && previous.standardError.contains("version 2 of churn is the previous"))
            _ = try await vigil("models", "register", "churn", "--artifact", "s3://models/churn/3", "--as", "alice")
            let archived = try await vigil("models", "archive", "churn", "3", "--reason", "superseded", "--as", "carol")
            #expect(archived.status == 0 && archived.standardOutput == "churn version 3 archived\n", "\(archived.standardError)")
            let changelog = try await vigil("models", "changelog", "churn")
            let lines = changelog.standardOutput.split(separator: "\n").dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true) }
            #expect(lines.map { String($0[1]) } == ["registered", "alias_moved", "registered", "alias_moved", "alias_moved", "rolled_back", "registered", "archived"])
            #expect(changelog.standardOutput.contains("carol  complaints from support"))
            let versions = try await vigil("models", "versions", "churn", "--format", "json")
            let rows = try JSONSerialization.jsonObject(with: Data(versions.standardOutput.utf8)) as? [[String: Any]] ?? []
            #expect(rows.count == 3 && rows[1]["parent_version"] as? Int == 1 && rows[0]["checksum"] as? String == Array("weights".utf8).sha256Hex)
            let unknown = try await vigil("models", "changelog", "fraud")
            #expect(unknown.status != 0 && unknown.standardError.contains("no model 'fraud'"))
        }
    }

    @Test("lineage prints the graph up- and downstream of a version, and OpenLineage run events")
    func lineage() async throws {
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-lineage-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try "name: retrain\nsteps:\n  wait: { uses: sleep, with: { for: 1s } }\n".write(to: folder.appendingPathComponent("w.yaml"), atomically: true, encoding: .utf8)
            #expect(try await VigilProcess.run(["apply", folder.appendingPathComponent("w.yaml").path, "--database-url", url], environment: environment).status == 0)
            #expect(try await VigilProcess.run(["run", "retrain", "--database-url", url], environment: environment).status == 0)
            let run = try #require(try await RunStore(database: database).list(workflow: "retrain", state: nil, limit: 1).first?.id)
            let lineage = LineageStore(database: database)
            let now = Date()
            let window = LineageNode(kind: "data_window", id: "churn:2026-11-24T10:00:00Z/2026-11-24T11:00:00Z")
            let alert = LineageNode(kind: "alert", id: "7"), runNode = LineageNode(kind: "run", id: String(run))
            let training = LineageNode(kind: "training_window", id: "churn:a/b"), version = LineageNode(kind: "model_version", id: "churn@2")
            try await lineage.recordEdge(from: window, to: alert, relation: "drifted", runID: nil, step: nil, now: now)
            try await lineage.recordEdge(from: alert, to: runNode, relation: "started", runID: run, step: nil, now: now)
            try await lineage.recordEdge(from: training, to: version, relation: "trained_on", runID: run, step: "train", now: now)
            try await lineage.recordEdge(from: runNode, to: version, relation: "produced", runID: run, step: "train", now: now)
            try await lineage.recordEdge(from: version, to: LineageNode(kind: "promotion", id: "3"), relation: "promoted_in", runID: run, step: "promote", now: now)

            let text = try await VigilProcess.run(["lineage", "churn@2", "--database-url", url], environment: environment)
            #expect(text.status == 0, "\(text.standardError)")
            for line in ["data_window:churn:2026-11-24T10:00:00Z/2026-11-24T11:00:00Z —drifted→ alert:7", "alert:7 —started→ run:\(run)",
                         "run:\(run) —produced→ model_version:churn@2", "model_version:churn@2 —promoted_in→ promotion:3"] {
                #expect(text.standardOutput.contains(line), "missing \(line) in\n\(text.standardOutput)")
            }
            let events = try await VigilProcess.run(["lineage", "churn@2", "--format", "openlineage", "--database-url", url], environment: environment)
            let event = try #require(try JSONSerialization.jsonObject(with: Data(events.standardOutput.split(separator: "\n").first.map(String.init)?.utf8 ?? "".utf8)) as? [String: Any])
            #expect((event["job"] as? [String: Any])?["name"] as? String == "retrain")
            #expect(((event["run"] as? [String: Any])?["runId"] as? String)?.count == 36)
            let inputs = (event["inputs"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
            let outputs = (event["outputs"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
            #expect(inputs.contains("alert:7") && inputs.contains("training_window:churn:a/b"), "\(inputs)")
            #expect(outputs.contains("model_version:churn@2") && outputs.contains("promotion:3"), "\(outputs)")
            let nothing = try await VigilProcess.run(["lineage", "fraud@1", "--database-url", url], environment: environment)
            #expect(nothing.status != 0 && nothing.standardError.contains("nothing is recorded about model_version:fraud@1"))
        }
    }
}
