import Foundation
import Logging
import Testing
import VigilStore
import VigilTesting

@Suite("vigil migrate and vigil db")
struct MigrateCommandTests {
    @Test("with nothing configured, migrate creates the embedded cluster, reuses it, and db stop stops it")
    func embeddedLifecycle() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        chmod(home.path, 0o755)
        defer { try? FileManager.default.removeItem(at: home) }
        let environment = VigilProcess.cleanEnvironment(["VIGIL_HOME": home.path])

        let first = try await VigilProcess.run(["migrate"], environment: environment)
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput.contains("applied \(MigrationSource.embedded.count) migration"))

        let second = try await VigilProcess.run(["migrate"], environment: environment)
        #expect(second.status == 0)
        #expect(second.standardOutput.hasPrefix("nothing to apply"))

        let status = try await VigilProcess.run(["db", "status"], environment: environment)
        #expect(status.standardOutput.contains("embedded cluster: running"))
        let pid = try #require(try EmbeddedCluster(home: home).stateRunningPID())

        let stop = try await VigilProcess.run(["db", "stop"], environment: environment)
        #expect(stop.status == 0)
        #expect(stop.standardOutput.contains("stopped"))
        #expect(!isAlive(pid), "the postmaster is still alive")
        let after = try await VigilProcess.run(["db", "status"], environment: environment)
        #expect(after.standardOutput.contains("stopped"))
    }

    @Test("two migrate processes started at once both succeed and record each file once")
    func concurrentProcesses() async throws {
        try await TestDatabase.withEmptyConfiguration { configuration in
            let url = configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            let a = try VigilProcess.start(["migrate", "--database-url", url], environment: environment)
            let b = try VigilProcess.start(["migrate", "--database-url", url], environment: environment)
            let (first, second) = (try await a.wait(), try await b.wait())
            #expect(first.status == 0, "\(first.standardError)")
            #expect(second.status == 0, "\(second.standardError)")
            try await Database.withDatabase(configuration, logger: Logger(label: "test")) { database in
                let counts = try await database.client.query("SELECT count(*), count(DISTINCT version) FROM schema_migrations")
                    .decode((Int, Int).self).first { _ in true }
                #expect(counts?.0 == MigrationSource.embedded.count)
                #expect(counts?.1 == MigrationSource.embedded.count)
            }
        }
    }

    @Test("an unreachable database is one readable line and exit 1")
    func unreachable() async throws {
        let output = try await VigilProcess.run(
            ["migrate", "--database-url", "postgres://nobody@127.0.0.1:1/x"], environment: VigilProcess.cleanEnvironment()
        )
        #expect(output.status == 1)
        let lines = output.standardError.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(output.standardError.hasPrefix("vigil: error: cannot connect to PostgreSQL at postgres://nobody@127.0.0.1:1/x"))
    }

    @Test("usage errors exit 2, help lists every subcommand and exits 0")
    func usage() async throws {
        let environment = VigilProcess.cleanEnvironment()
        let bad = try await VigilProcess.run(["migrate", "--no-such-flag"], environment: environment)
        #expect(bad.status == 2)
        #expect(bad.standardError.contains("Unknown option"))
        let help = try await VigilProcess.run(["--help"], environment: environment)
        #expect(help.status == 0)
        for command in ["migrate", "db"] {
            #expect(help.standardOutput.contains("  \(command) "))
        }
    }
}

/// Whether a process exists and is not a zombie (stopped daemons wait to be reaped by init).
func isAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    guard let close = stat.lastIndex(of: ")") else { return false }
    return stat[stat.index(close, offsetBy: 2)] != "Z"
}

extension EmbeddedCluster {
    /// The postmaster's process id when the cluster runs.
    func stateRunningPID() throws -> Int32? {
        if case let .running(pid, _) = try state() { return pid }
        return nil
    }
}
