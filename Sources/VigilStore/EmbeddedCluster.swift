import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster that Vigil starts for itself when no database is configured.
///
/// Data lives under `HOME/pg` (``home`` is `$VIGIL_HOME`, else `.vigil` in the current folder). The
/// server listens on a free loopback port only, with a generated password (SCRAM), and is reused
/// by every later call until ``stop()``. As root, the server runs as the unprivileged `postgres`
/// user (or `nobody`), because PostgreSQL refuses to run as root.
public struct EmbeddedCluster: Sendable {
    /// Whether the cluster exists and runs.
    public enum State: Sendable, Equatable {
        case notCreated
        case stopped
        case running(pid: Int32, port: Int)
    }

    /// What is remembered between calls: where the server listens and how to log in.
    struct Connection: Codable {
        var port: Int
        var username: String
        var password: String
        var database: String
        /// Whether `createdb` has run; an interrupted first start creates it on the next.
        var databaseCreated: Bool?
    }

    public let home: URL
    /// Extra `postgresql.conf` settings, for example `fsync = off` for throwaway test clusters.
    public let settings: [String: String]

    /// The server's data folder: `HOME/pg`, or where that link points (see ``serverRoot(for:)``).
    public var dataDirectory: URL { home.appendingPathComponent("pg").resolvingSymlinksInPath() }
    var connectionFile: URL { home.appendingPathComponent("pg.json") }
    /// The server log, inside the data folder so the server's own user can always write it.
    public var logFile: URL { dataDirectory.appendingPathComponent("server.log") }
    var lockFile: URL { home.appendingPathComponent("pg.lock") }

    public init(home: URL, settings: [String: String] = [:]) {
        self.home = home.standardizedFileURL
        self.settings = settings
    }

    /// `$VIGIL_HOME` when set, else `.vigil` in the current folder.
    public static func defaultHome(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let home = environment["VIGIL_HOME"], !home.isEmpty { return URL(fileURLWithPath: home) }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".vigil")
    }

    /// Creates the cluster if needed, starts it if stopped, and returns how to connect.
    ///
    /// Safe to call from several processes at once: a file lock serialises them.
    public func start(logger: Logger) throws(StoreError) -> DatabaseConfiguration {
        try createHome()
        return try withLock { () throws(StoreError) -> DatabaseConfiguration in
            let server = try ServerBinaries.locate()
            var connection: Connection
            if FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) {
                connection = try readConnection()
            } else {
                logger.info("creating embedded PostgreSQL cluster", metadata: ["data": "\(dataDirectory.path)"])
                connection = try initialize(server)
                try writeConnection(connection)
            }
            if case .running = try state(server) {
                return configuration(for: connection)
            }
            if !Self.isPortFree(connection.port) {
                connection.port = try Self.freePort()
            }
            try writeConnection(connection)
            try startServer(server, port: connection.port, failure: "cannot start the embedded PostgreSQL server")
            if connection.databaseCreated != true {
                try server.run("createdb", ["-h", "127.0.0.1", "-p", "\(connection.port)", "-U", connection.username, connection.database],
                               environment: ["PGPASSWORD": connection.password],
                               failure: "cannot create the '\(connection.database)' database in the embedded cluster")
                connection.databaseCreated = true
                try writeConnection(connection)
            }
            logger.debug("embedded PostgreSQL running", metadata: ["port": "\(connection.port)"])
            return configuration(for: connection)
        }
    }

    /// Writes the server's settings for `port` and starts it, waiting until it accepts connections.
    func startServer(_ server: ServerBinaries, port: Int, failure: String) throws(StoreError) {
        try writeServerSettings(port: port)
        try server.run("pg_ctl", ["-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "60", "-s", "start"],
                       failure: "\(failure) (log: \(logFile.path))")
    }

    /// Stops the server if it runs.
    ///
    /// - Returns: `true` when a running server was stopped.
    @discardableResult
    public func stop() throws(StoreError) -> Bool {
        guard FileManager.default.fileExists(atPath: home.path) else { return false }
        return try withLock { () throws(StoreError) -> Bool in
            let server = try ServerBinaries.locate()
            guard case .running = try state(server) else { return false }
            try server.run("pg_ctl", ["-D", dataDirectory.path, "-m", "fast", "-w", "-t", "60", "-s", "stop"],
                           failure: "cannot stop the embedded PostgreSQL server")
            return true
        }
    }

    /// Whether the cluster exists and whether its server runs.
    public func state() throws(StoreError) -> State {
        try state(try ServerBinaries.locate())
    }

    /// The connection settings of an existing cluster, whether or not it runs.
    public func configuration() throws(StoreError) -> DatabaseConfiguration {
        configuration(for: try readConnection())
    }

    /// Stops the server and removes the cluster's files: ``home``, and the folder under
    /// `/var/lib/vigil` that `HOME/pg` links to when ``serverRoot(for:)`` made one.
    public func destroy() throws(StoreError) {
        try stop()
        // Only a folder Vigil made there: a link the user made elsewhere is theirs to keep.
        let linked = dataDirectory.deletingLastPathComponent().standardizedFileURL
        let made = linked.path.hasPrefix(Self.sharedRoot.path + "/") ? [linked] : []
        for folder in [home] + made {
            do {
                try FileManager.default.removeItem(at: folder)
            } catch let error as CocoaError where error.code == .fileNoSuchFile {
                continue
            } catch {
                throw StoreError(.embeddedCluster, "cannot remove \(folder.path): \(error.localizedDescription)")
            }
        }
    }

    // MARK: - Internals

    func state(_ server: ServerBinaries) throws(StoreError) -> State {
        guard FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) else {
            return .notCreated
        }
        let result = try server.execute("pg_ctl", ["-D", dataDirectory.path, "status"])
        guard result.status == 0 else { return .stopped }
        let pidText = (try? String(contentsOf: dataDirectory.appendingPathComponent("postmaster.pid"), encoding: .utf8)) ?? ""
        let lines = pidText.split(separator: "\n", omittingEmptySubsequences: false)
        let pid = lines.first.flatMap { Int32($0) } ?? 0
        let port = lines.count > 3 ? Int(lines[3]) ?? 0 : 0
        return .running(pid: pid, port: port)
    }

    func configuration(for connection: Connection) -> DatabaseConfiguration {
        DatabaseConfiguration(
            host: "127.0.0.1", port: connection.port, username: connection.username,
            password: connection.password, database: connection.database, tlsMode: .disable
        )
    }

    private func initialize(_ server: ServerBinaries) throws(StoreError) -> Connection {
        let (root, dataDirectory) = try emptyDataDirectory(server)
        let connection = Connection(port: try Self.freePort(), username: "vigil", password: Self.randomPassword(), database: "vigil")
        let passwordFile = root.appendingPathComponent("pg.password")
        try write(connection.password, to: passwordFile)
        defer { try? FileManager.default.removeItem(at: passwordFile) }
        try server.handOver(passwordFile, mode: 0o600)
        try server.run("initdb", [
            "-D", dataDirectory.path, "-U", connection.username, "--pwfile", passwordFile.path,
            "--auth-host", "scram-sha-256", "--auth-local", "scram-sha-256", "-E", "UTF8", "--locale", "C.UTF-8",
            "--no-instructions",
        ] + (settings["fsync"] == "off" ? ["--no-sync"] : []),
        failure: "initdb failed for \(dataDirectory.path)")
        let conf = dataDirectory.appendingPathComponent("postgresql.conf")
        do {
            let handle = try FileHandle(forWritingTo: conf)
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("\ninclude_if_exists = 'vigil.conf'\n".utf8))
            try handle.close()
        } catch {
            throw StoreError(.embeddedCluster, "cannot edit \(conf.path): \(error.localizedDescription)")
        }
        return connection
    }

    /// Makes an empty data folder the server's user owns (removing a leftover, half-made one from an
    /// interrupted first start), in ``serverRoot(for:)``; returns that root and the folder.
    func emptyDataDirectory(_ server: ServerBinaries) throws(StoreError) -> (root: URL, dataDirectory: URL) {
        let link = home.appendingPathComponent("pg")
        try? FileManager.default.removeItem(at: dataDirectory)
        try? FileManager.default.removeItem(at: link)
        let root = try serverRoot(for: server)
        let dataDirectory = root.appendingPathComponent("pg")
        do {
            try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            if root != home {
                try FileManager.default.createSymbolicLink(at: link, withDestinationURL: dataDirectory)
            }
        } catch {
            throw StoreError(.embeddedCluster, "cannot create \(dataDirectory.path): \(error.localizedDescription)")
        }
        try server.handOver(dataDirectory, mode: 0o700)
        return (root, dataDirectory)
    }

    /// Where clusters whose home the server's user cannot reach keep their data, one folder each.
    static let sharedRoot = URL(fileURLWithPath: "/var/lib/vigil/clusters")

    /// A folder the server's user can reach: ``home`` itself, or, when Vigil runs as root in a folder
    /// that user cannot traverse (a project under `/root`), one under `/var/lib/vigil` that `HOME/pg` links to.
    private func serverRoot(for server: ServerBinaries) throws(StoreError) -> URL {
        guard !server.canReach(home) else { return home }
        let digest = home.path.sha256Hex.prefix(16)
        let root = Self.sharedRoot.appendingPathComponent(String(digest))
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
        } catch {
            throw StoreError(.embeddedCluster, "cannot create \(root.path): \(error.localizedDescription)")
        }
        for folder in [Self.sharedRoot.deletingLastPathComponent().path, Self.sharedRoot.path, root.path] { chmod(folder, 0o755) }
        guard server.canReach(root) else {
            throw StoreError(.embeddedCluster, "user '\(server.runAs ?? "")' cannot reach \(root.path); set VIGIL_HOME to a folder it can reach")
        }
        return root
    }

    func writeServerSettings(port: Int) throws(StoreError) {
        var lines = [
            "# Written by vigil on every start.",
            "listen_addresses = '127.0.0.1'",
            "port = \(port)",
            "unix_socket_directories = ''",
            "max_connections = 200",
        ]
        lines += settings.sorted { $0.key < $1.key }.map { "\($0.key) = '\($0.value)'" }
        let file = dataDirectory.appendingPathComponent("vigil.conf")
        try write(lines.joined(separator: "\n") + "\n", to: file)
        try ServerBinaries.locate().handOver(file, mode: 0o600)
    }

    func readConnection() throws(StoreError) -> Connection {
        do {
            return try JSONDecoder().decode(Connection.self, from: Data(contentsOf: connectionFile))
        } catch {
            throw StoreError(.embeddedCluster, "cannot read \(connectionFile.path) (remove \(home.path) to start afresh): \(error.localizedDescription)")
        }
    }

    func writeConnection(_ connection: Connection) throws(StoreError) {
        do {
            let data = try JSONEncoder().encode(connection)
            try write(String(decoding: data, as: UTF8.self), to: connectionFile)
            chmod(connectionFile.path, 0o600)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.embeddedCluster, "cannot write \(connectionFile.path): \(error.localizedDescription)")
        }
    }

    private func write(_ text: String, to file: URL) throws(StoreError) {
        do {
            try text.write(to: file, atomically: true, encoding: .utf8)
        } catch {
            throw StoreError(.embeddedCluster, "cannot write \(file.path): \(error.localizedDescription)")
        }
    }

    func createHome() throws(StoreError) {
        do {
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        } catch {
            throw StoreError(.embeddedCluster, "cannot create \(home.path): \(error.localizedDescription)")
        }
    }

    /// Holds an exclusive `flock` on the cluster's lock file while `body` runs.
    func withLock<Result>(_ body: () throws(StoreError) -> Result) throws(StoreError) -> Result {
        let descriptor = open(lockFile.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(.embeddedCluster, "cannot open \(lockFile.path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 && errno == EINTR {}
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }

    static func isPortFree(_ port: Int) -> Bool {
        (try? bindLoopback(port: port)) != nil
    }

    /// A loopback port nobody listens on now: bind port 0 and read back what the kernel chose.
    public static func freePort() throws(StoreError) -> Int {
        try bindLoopback(port: 0)
    }

    private static func bindLoopback(port: Int) throws(StoreError) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StoreError(.embeddedCluster, "cannot open a socket") }
        defer { close(fd) }
        // As PostgreSQL binds its own socket: connections it closed on stop linger in TIME_WAIT,
        // and without this the old port would look taken, the server would move, and clients
        // holding the old URL could never reconnect.
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else { throw StoreError(.embeddedCluster, "port \(port) on 127.0.0.1 is taken") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func randomPassword() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
