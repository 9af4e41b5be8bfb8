import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Testing
import VigilStore
import VigilTesting

/// Vigil on four hosts (network namespaces) against one PostgreSQL, as docs/architecture.md's
/// "Deployment" section describes it: two hosts run `vigil serve --no-workers` (API, scheduler,
/// keeper), two run `vigil worker`.
@Suite("Several hosts, one database", .timeLimit(.minutes(12)), .enabled(if: NetworkHosts.available, "needs root and iproute2 for network namespaces"))
struct MultiHostTests {
    @Test("scheduler and API on two hosts, workers on two more, one PostgreSQL: a worker host and a scheduler host crash mid-run; every run completes, each cron tick starts one run, no step completes twice")
    func crashedHosts() async throws {
        try await NetworkHosts.withHosts(4) { hosts in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-hosts-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            chmod(folder.path, 0o755)
            defer { try? FileManager.default.removeItem(at: folder) }

            // The database host: PostgreSQL listening on the hosts' subnet, with a password.
            let cluster = EmbeddedCluster(home: folder.appendingPathComponent("db"), settings: ["listen_addresses": "127.0.0.1,\(hosts.gateway)"])
            let local = try cluster.start(logger: TestDatabase.logger)
            defer { try? cluster.destroy() }
            let hba = try FileHandle(forWritingTo: cluster.dataDirectory.appendingPathComponent("pg_hba.conf"))
            try hba.seekToEnd()
            try hba.write(contentsOf: Data("host all all \(hosts.subnet).0/24 scram-sha-256\n".utf8))
            try hba.close()
            var remote = local
            remote.host = hosts.gateway

            try await Database.withDatabase(local, logger: TestDatabase.logger) { database in
                _ = try await database.client.query("SELECT pg_reload_conf()", logger: database.logger).collect()
                try await Migrator(database: database).apply()
                let marker = folder.appendingPathComponent("completed")
                try #require(FileManager.default.createFile(atPath: marker.path, contents: nil))
                chmod(marker.path, 0o666)
                // Each step sleeps, then records its run, name and attempt: an attempt killed with its host records nothing.
                let workflow = folder.appendingPathComponent("tick.yaml")
                try """
                name: tick
                schedule:
                  cron: "* * * * *"
                  catch_up: all
                steps:
                  first:
                    uses: command
                    with: { run: ["sh", "-c", "sleep 4; echo $VIGIL_RUN_ID-$VIGIL_STEP-$VIGIL_ATTEMPT >> \(marker.path)"] }
                  second:
                    uses: command
                    needs: first
                    with: { run: ["sh", "-c", "sleep 1; echo $VIGIL_RUN_ID-$VIGIL_STEP-$VIGIL_ATTEMPT >> \(marker.path)"] }
                """.write(to: workflow, atomically: true, encoding: .utf8)
                let applied = try await VigilProcess.run(["apply", workflow.path], on: database)
                try #require(applied.status == 0, "\(applied.standardError)")

                let url = remote.url(revealingPassword: true)
                let environment = VigilProcess.cleanEnvironment()
                var servers: [String] = []
                for host in 0 ..< 2 {
                    let (base, _) = try await startServe(url: url, environment: environment, arguments: ["--host", hosts.address(of: host)], launcher: hosts.launcher(on: host))
                    servers.append(base)
                }
                for host in 2 ..< 4 {
                    _ = try VigilProcess.start(["worker", "--database-url", url, "--lease", "2s", "--concurrency", "2"], environment: environment, launcher: hosts.launcher(on: host))
                }

                // Four runs through the first host's API.
                let token = try await TokenStore(database: database).create(principal: "ops", roles: [.operator], sensitiveModels: [], actor: "t", now: Date()).token
                for number in 0 ..< 4 {
                    var request = HTTPClientRequest(url: "\(servers[0])/api/v1/workflows/tick/runs")
                    request.method = .POST
                    request.headers.add(name: "Authorization", value: "Bearer \(token)")
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: #"{"idempotency_key": "manual-\#(number)"}"#))
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                    #expect(response.status == .created)
                }

                func query<Row: Sendable>(_ sql: String, as type: Row.Type) async throws -> [Row] where Row: PostgresDecodable {
                    var rows: [Row] = []
                    for try await row in try await database.client.query(PostgresQuery(unsafeSQL: sql), logger: database.logger).decode(Row.self) { rows.append(row) }
                    return rows
                }

                // The third host crashes while one of its workers holds a step.
                let workerHeldAStep = try await eventually(timeout: .seconds(90)) {
                    let pids = Set(await hosts.processes(on: 2))
                    let owners = try await query("SELECT lease_owner FROM steps WHERE state = 'running' AND lease_owner IS NOT NULL", as: String.self)
                    return owners.contains { owner in owner.split(separator: "-").compactMap { Int32($0) }.contains(where: pids.contains) }
                }
                try #require(workerHeldAStep, "no worker of host 2 ever ran a step")
                #expect(await hosts.crash(2) > 0)

                // The serve host whose scheduler claimed the first tick crashes.
                let ticked = try await eventually(timeout: .seconds(90)) {
                    try await query("SELECT count(*)::int8 FROM schedule_ticks WHERE run_id IS NOT NULL", as: Int.self).first ?? 0 >= 1
                }
                try #require(ticked, "the schedule never ticked")
                let claimer = try #require(try await query("SELECT claimed_by FROM schedule_ticks ORDER BY scheduled_for LIMIT 1", as: String.self).first)
                let pid = claimer.split(separator: "-").last.flatMap { Int32($0) }
                var ticking: Int?
                for host in 0 ..< 2 {
                    if await hosts.processes(on: host).contains(where: { $0 == pid }) { ticking = host }
                }
                let crashed = try #require(ticking, "no serve host runs \(claimer)")
                #expect(await hosts.crash(crashed) > 0)

                // Two more ticks, now taken by the other host's scheduler, and every run finished.
                let settled = try await eventually(timeout: .seconds(360)) {
                    let ticks = try await query("SELECT count(*)::int8 FROM schedule_ticks WHERE run_id IS NOT NULL", as: Int.self).first ?? 0
                    let open = try await query("SELECT count(*)::int8 FROM runs WHERE state NOT IN ('succeeded', 'failed', 'cancelled')", as: Int.self).first ?? 1
                    return ticks >= 3 && open == 0
                }
                #expect(settled, "runs still open or too few ticks after 6 minutes")
                for host in 0 ..< 4 { await hosts.crash(host) }

                let states = try await query("SELECT state FROM runs", as: String.self)
                #expect(states.count >= 7 && states.allSatisfy { $0 == "succeeded" }, "\(states)")
                // Each tick once, on consecutive minutes, and the later ticks claimed by the surviving scheduler.
                let ticks = try await query("SELECT extract(epoch FROM scheduled_for)::int8 FROM runs WHERE scheduled_for IS NOT NULL ORDER BY 1", as: Int.self)
                #expect(Set(ticks).count == ticks.count, "a tick started two runs: \(ticks)")
                #expect(zip(ticks, ticks.dropFirst()).allSatisfy { $1 - $0 == 60 }, "a tick was missed: \(ticks)")
                let claimers = try await query("SELECT DISTINCT claimed_by FROM schedule_ticks", as: String.self)
                #expect(claimers.count == 2, "\(claimers)")
                // No step completed twice: one success per step in the event log.
                let successes = try await query("""
                    SELECT count(*)::int8 FROM run_events WHERE step IS NOT NULL AND to_state = 'succeeded' GROUP BY run_id, step
                    """, as: Int.self)
                #expect(successes.count == states.count * 2 && successes.allSatisfy { $0 == 1 }, "\(successes)")
                // Every step ran to its end at least once. Execution is at least once: a step whose
                // lease lapsed (its host crashed, or a starved worker missed its renewals on a loaded
                // machine) may have run twice, and only such a step.
                let lines = try String(contentsOf: marker, encoding: .utf8).split(separator: "\n").map { $0.split(separator: "-").dropLast().joined(separator: "-") }
                let runIDs = try await query("SELECT id FROM runs", as: Int.self)
                #expect(Set(lines) == Set(runIDs.flatMap { ["\($0)-first", "\($0)-second"] }), "\(lines)")
                let expired = Set(try await query("""
                    SELECT run_id::text || '-' || step FROM run_events WHERE to_state = 'ready' AND reason LIKE '%expired%'
                    """, as: String.self))
                let repeated = Set(lines.filter { line in lines.count { $0 == line } > 1 })
                #expect(repeated.isSubset(of: expired), "steps ran twice without a lapsed lease: \(repeated.subtracting(expired)) in \(lines)")
                // The crashed host's step was taken over once its lease lapsed.
                #expect(!expired.isEmpty)
            }
        }
    }
}
