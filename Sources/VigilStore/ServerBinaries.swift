import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The installed PostgreSQL server programs, and the user they run as.
struct ServerBinaries {
    /// The folder holding `postgres`, `initdb` and `pg_ctl`.
    let directory: URL
    /// The unprivileged user to run the server as when Vigil runs as root; `nil` otherwise.
    let runAs: String?

    private static let required = ["postgres", "initdb", "pg_ctl"]

    /// Finds the server binaries: `$VIGIL_PG_BINDIR`, then `PATH`, then `pg_config --bindir`,
    /// then the newest `/usr/lib/postgresql/*/bin`.
    static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) -> ServerBinaries {
        var candidates: [URL] = []
        if let explicit = environment["VIGIL_PG_BINDIR"] { candidates.append(URL(fileURLWithPath: explicit)) }
        for folder in (environment["PATH"] ?? "").split(separator: ":") {
            let initdb = URL(fileURLWithPath: String(folder)).appendingPathComponent("initdb")
            if FileManager.default.isExecutableFile(atPath: initdb.path) {
                candidates.append(initdb.resolvingSymlinksInPath().deletingLastPathComponent())
            }
        }
        if let pgConfig = findOnPath("pg_config", environment: environment),
           let result = try? ChildProcess.run(pgConfig, ["--bindir"]), result.status == 0 {
            candidates.append(URL(fileURLWithPath: result.output.trimmingWhitespace()))
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            candidates.append(URL(fileURLWithPath: "/usr/lib/postgresql/\(version)/bin"))
        }
        guard let directory = candidates.first(where: { folder in
            required.allSatisfy { FileManager.default.isExecutableFile(atPath: folder.appendingPathComponent($0).path) }
        }) else {
            throw StoreError(
                .embeddedCluster,
                "no PostgreSQL server binaries found (looked on PATH, in pg_config --bindir and /usr/lib/postgresql/*/bin); install them with 'apt-get install postgresql' or set VIGIL_DATABASE_URL to an existing server"
            )
        }
        return ServerBinaries(directory: directory, runAs: geteuid() == 0 ? unprivilegedUser() : nil)
    }

    /// Runs a server program (as ``runAs`` when set) and throws with its output when it fails.
    func run(_ program: String, _ arguments: [String], environment: [String: String] = [:], failure: String) throws(StoreError) {
        let result = try execute(program, arguments, environment: environment)
        guard result.status == 0 else {
            let output = result.output.split(whereSeparator: \.isNewline).suffix(3).joined(separator: " | ")
            throw StoreError(.embeddedCluster, "\(failure): \(output.isEmpty ? "exit status \(result.status)" : output)")
        }
    }

    func execute(
        _ program: String, _ arguments: [String], environment: [String: String] = [:], absolute: Bool = false
    ) throws(StoreError) -> ChildProcess.Result {
        let executable = absolute ? program : directory.appendingPathComponent(program).path
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        env.merge(environment) { $1 }
        env["LC_ALL"] = "C.UTF-8"
        guard let runAs else { return try ChildProcess.run(executable, arguments, environment: env) }
        let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
            .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/runuser"
        let passed = environment.keys.sorted().map { "\($0)=\(environment[$0]!)" }
        // runuser resets nothing we rely on; env(1) carries the few variables the program needs.
        return try ChildProcess.run(runuser, ["-u", runAs, "--", "/usr/bin/env", "LC_ALL=C.UTF-8"] + passed + [executable] + arguments, environment: env)
    }

    /// Gives ``runAs`` ownership of a file or folder Vigil created as root.
    func handOver(_ url: URL, mode: mode_t) throws(StoreError) {
        guard let runAs, let user = getpwnam(runAs) else { return }
        guard chown(url.path, user.pointee.pw_uid, user.pointee.pw_gid) == 0, chmod(url.path, mode) == 0 else {
            throw StoreError(.embeddedCluster, "cannot hand \(url.path) to user \(runAs): \(String(cString: strerror(errno)))")
        }
    }

    /// Whether ``runAs`` can traverse `folder` (a project under `/root` is out of its reach).
    func canReach(_ folder: URL) -> Bool {
        guard let runAs else { return true }
        let result = try? execute("/usr/bin/test", ["-x", folder.path], absolute: true)
        return result?.status == 0
    }

    private static func unprivilegedUser() -> String {
        getpwnam("postgres") != nil ? "postgres" : "nobody"
    }

    private static func findOnPath(_ name: String, environment: [String: String]) -> String? {
        for folder in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}
