import Foundation
import Logging
import VigilStore
#if canImport(Glibc)
import Glibc
#endif

/// Gives each test a database of its own on one PostgreSQL server shared by the test process.
///
/// The server is `$VIGIL_TEST_DATABASE_URL` when set (any database on it; tests create their own),
/// else a throwaway embedded cluster in a temporary folder, started on first use and stopped when
/// the process exits. Each database is cloned from a migrated template and dropped afterwards,
/// so tests run in parallel and leave nothing behind.
public enum TestDatabase {
    /// Runs `body` with a freshly migrated database that is dropped afterwards.
    public static func withFresh<Result: Sendable>(
        migrated: Bool = true,
        _ body: (Database) async throws -> Result
    ) async throws -> Result {
        let server = try await TestServer.shared.configuration()
        let name = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let template = migrated ? try await TestServer.shared.migratedTemplate() : "template0"
        try await createDatabase(name, template: template, on: server)
        do {
            let result = try await Database.withDatabase(server.with(database: name), logger: logger, body)
            try await drop(name, on: server)
            return result
        } catch {
            try? await drop(name, on: server)
            throw error
        }
    }

    /// The configuration of a new empty (unmigrated) database, dropped when `body` returns.
    public static func withEmptyConfiguration<Result: Sendable>(
        _ body: (DatabaseConfiguration) async throws -> Result
    ) async throws -> Result {
        let server = try await TestServer.shared.configuration()
        let name = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await createDatabase(name, template: "template0", on: server)
        do {
            let result = try await body(server.with(database: name))
            try await drop(name, on: server)
            return result
        } catch {
            try? await drop(name, on: server)
            throw error
        }
    }

    /// The shared server's configuration (its maintenance database).
    public static func serverConfiguration() async throws -> DatabaseConfiguration {
        try await TestServer.shared.configuration()
    }

    /// The embedded test cluster, when the suite started one (not with `VIGIL_TEST_DATABASE_URL`).
    public static func embeddedCluster() async throws -> EmbeddedCluster? {
        _ = try await TestServer.shared.configuration()
        return await TestServer.shared.cluster
    }

    /// A logger that shows only errors, for tests' own databases and clusters.
    public static let logger: Logger = {
        var logger = Logger(label: "vigil.tests")
        logger.logLevel = .error
        return logger
    }()

    static func admin(_ server: DatabaseConfiguration, _ body: (Database) async throws -> Void) async throws {
        try await Database.withDatabase(server, maximumConnections: 1, logger: logger, body)
    }

    /// Creates `name` from `template`. PostgreSQL refuses to copy a template while another session
    /// is copying it too (SQLSTATE 55006), which parallel tests do all the time, so that is retried.
    private static func createDatabase(_ name: String, template: String, on server: DatabaseConfiguration) async throws {
        var attempt = 0
        while true {
            do {
                try await admin(server) { database in
                    try await database.createDatabase(name, template: template)
                }
                return
            } catch where StoreError.sqlState(of: error) == "55006" && attempt < 100 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(20 + Int.random(in: 0..<30)))
            }
        }
    }

    private static func drop(_ name: String, on server: DatabaseConfiguration) async throws {
        try await admin(server) { database in
            try await database.dropDatabase(name)
        }
    }
}

/// The one server of a test process, started lazily.
actor TestServer {
    static let shared = TestServer()

    private(set) var cluster: EmbeddedCluster?
    private var server: DatabaseConfiguration?
    private var template: Task<String, any Error>?

    func configuration() throws -> DatabaseConfiguration {
        if let server { return server }
        let environment = ProcessInfo.processInfo.environment
        let configuration: DatabaseConfiguration
        if let url = environment["VIGIL_TEST_DATABASE_URL"], !url.isEmpty {
            configuration = try DatabaseConfiguration(url: url)
        } else {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-tests-\(getpid())")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            chmod(folder.path, 0o755)
            let cluster = EmbeddedCluster(
                home: folder,
                settings: ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "300"]
            )
            configuration = try cluster.start(logger: TestDatabase.logger)
            self.cluster = cluster
            StopAtExit.register(cluster)
        }
        server = configuration
        return configuration
    }

    /// A database with every migration applied, created once per process and cloned per test.
    ///
    /// Concurrent first callers share one creation task: the actor is re-entrant across awaits.
    func migratedTemplate() async throws -> String {
        if let template { return try await template.value }
        let server = try configuration()
        let task = Task { try await Self.createTemplate(on: server) }
        template = task
        return try await task.value
    }

    private static func createTemplate(on server: DatabaseConfiguration) async throws -> String {
        let checksum = MigrationSource.embedded.map(\.checksum).joined().sha256Hex.prefix(12)
        let name = "vigil_template_\(checksum)"
        try await TestDatabase.admin(server) { database in
            if try await !database.databaseExists(name) {
                try await database.createDatabase(name, template: "template0")
            }
        }
        // Migrating is idempotent and locked, so a template left by an earlier run is simply checked.
        try await Database.withDatabase(server.with(database: name), maximumConnections: 1, logger: TestDatabase.logger) { database in
            try await Migrator(database: database).apply()
        }
        return name
    }
}

/// Stops the test process's embedded cluster and removes its files when the process exits.
enum StopAtExit {
    nonisolated(unsafe) private static var cluster: EmbeddedCluster?

    /// Called once, from the ``TestServer`` actor, before any exit handler can run.
    static func register(_ cluster: EmbeddedCluster) {
        self.cluster = cluster
        atexit {
            try? StopAtExit.cluster?.destroy()
        }
    }
}
