import Foundation
import Logging
import PostgresNIO
import Testing
import VigilEngine
import VigilStore
import VigilTesting

/// The embedded cluster with a synchronous streaming standby; the primary crashes and the standby
/// is promoted while a `vigil worker` runs steps.
@Suite("Failover to a promoted standby", .timeLimit(.minutes(5)))
struct FailoverTests {
    @Test("the primary is killed mid-run and its synchronous standby promoted: the worker and the API's pool follow to the new primary, every run completes, and nothing committed before the crash is lost")
    func promotedStandby() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-failover-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        chmod(folder.path, 0o755)
        defer { try? FileManager.default.removeItem(at: folder) }
        let primary = EmbeddedCluster(home: folder.appendingPathComponent("primary"))
        let standby = EmbeddedCluster(home: folder.appendingPathComponent("standby"))
        defer {
            try? primary.destroy()
            try? standby.destroy()
        }
        let first = try primary.start(logger: TestDatabase.logger)
        let second = try standby.startAsStandby(of: primary, logger: TestDatabase.logger)
        var both = first
        both.alternates = [DatabaseConfiguration.Endpoint(host: second.host, port: second.port)]

        // Commits wait for the standby: what a client saw committed survives the primary.
        try await Database.withDatabase(first, maximumConnections: 1, logger: TestDatabase.logger) { database in
            _ = try await database.client.query("ALTER SYSTEM SET synchronous_standby_names = '*'", logger: database.logger).collect()
            _ = try await database.client.query("SELECT pg_reload_conf()", logger: database.logger).collect()
        }
        let url = both.url(revealingPassword: true)
        let migrated = try await VigilProcess.run(["migrate", "--database-url", url], environment: VigilProcess.cleanEnvironment())
        try #require(migrated.status == 0, "\(migrated.standardError)")

        try await Database.withDatabase(both, logger: TestDatabase.logger) { database in
            #expect(database.endpoint.port == first.port)
            let synchronous = try await database.client.query("SELECT count(*)::int8 FROM pg_stat_replication WHERE sync_state = 'sync'", logger: database.logger)
                .decode(Int.self).first { _ in true }
            #expect(synchronous == 1, "the standby is not synchronous")
            let marker = folder.appendingPathComponent("completed")
            let workflow = folder.appendingPathComponent("steady.yaml")
            try """
            name: steady
            steps:
              first:
                uses: command
                with: { run: ["sh", "-c", "sleep 3; echo $VIGIL_RUN_ID-$VIGIL_STEP >> \(marker.path)"] }
              second:
                uses: command
                needs: first
                with: { run: ["sh", "-c", "echo $VIGIL_RUN_ID-$VIGIL_STEP >> \(marker.path)"] }
            """.write(to: workflow, atomically: true, encoding: .utf8)
            let applied = try await VigilProcess.run(["apply", workflow.path, "--database-url", url], environment: VigilProcess.cleanEnvironment())
            try #require(applied.status == 0, "\(applied.standardError)")
            var runs: [Int] = []
            for _ in 0 ..< 3 {
                runs.append(try await RunLauncher(database: database).start("steady", trigger: .init(kind: .manual, actor: "t")).runID)
            }
            let worker = try VigilProcess.start(["worker", "--database-url", url, "--lease", "3s", "--concurrency", "2"], environment: VigilProcess.cleanEnvironment())
            defer { kill(worker.processIdentifier, SIGKILL) }
            let store = RunStore(database: database)
            // Started, not only running: on a loaded machine a poll can miss a first step's 3 seconds.
            let started = try await eventually(timeout: .seconds(120)) {
                try await runs.asyncContains { try await store.steps(ofRun: $0).contains { [.running, .succeeded, .failed].contains($0.state) } }
            }
            try #require(started, "the worker never ran a step: \(worker.standardErrorSoFar.suffix(1_000))")

            // The primary's server dies at once; the standby is promoted.
            guard case let .running(pid, _) = try primary.state() else { throw CancellationError() }
            kill(pid, SIGKILL)
            try standby.promote()

            // A run started now lands on the new primary, through the pool that followed it.
            let followed = try await eventually(timeout: .seconds(60)) { database.endpoint.port == second.port }
            #expect(followed, "the pool still uses \(database.endpoint)")
            runs.append(try await RunLauncher(database: database).start("steady", trigger: .init(kind: .manual, actor: "t")).runID)

            let finished = try await eventually(timeout: .seconds(150)) {
                try await runs.asyncAllSatisfy { try await store.run($0).state.isTerminal }
            }
            #expect(finished, "runs still open; worker: \(worker.standardErrorSoFar.suffix(1_500))")
            for id in runs {
                #expect(try await store.run(id).state == .succeeded, "run \(id)")
                let events = try await store.events(ofRun: id).filter { $0.toState == "succeeded" && $0.step != nil }
                #expect(events.count == 2, "run \(id): \(events.map { ($0.step ?? "", $0.toState) })")
            }
            let lines = try String(contentsOf: marker, encoding: .utf8).split(separator: "\n")
            #expect(Set(lines).count == runs.count * 2, "\(lines)")
            // The workflow and runs committed before the crash are on the promoted standby.
            let summaries = try await WorkflowStore(database: database).list()
            #expect(summaries.map(\.name) == ["steady"])
        }
    }
}

extension Array {
    func asyncContains(_ predicate: (Element) async throws -> Bool) async rethrows -> Bool {
        for element in self where try await predicate(element) { return true }
        return false
    }

    func asyncAllSatisfy(_ predicate: (Element) async throws -> Bool) async rethrows -> Bool {
        for element in self where try await !predicate(element) { return false }
        return true
    }
}
