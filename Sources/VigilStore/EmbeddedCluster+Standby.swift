import Foundation
import Logging

extension EmbeddedCluster {
    /// Creates this cluster as a streaming standby of the running embedded cluster `primary` — a
    /// base backup taken by `pg_basebackup`, which also writes how to follow it — and starts it on
    /// a loopback port of its own. It replays the primary's changes, read-only, until
    /// ``promote()``; the same user and password log in to both.
    ///
    /// - Throws: ``StoreError`` `embeddedCluster` when this folder already holds a cluster, the
    ///   primary does not run, or a server program fails (with its output).
    public func startAsStandby(of primary: EmbeddedCluster, logger: Logger) throws(StoreError) -> DatabaseConfiguration {
        try createHome()
        return try withLock { () throws(StoreError) -> DatabaseConfiguration in
            let server = try ServerBinaries.locate()
            guard case .notCreated = try state(server) else {
                throw StoreError(.embeddedCluster, "\(home.path) already holds a cluster; a standby starts in an empty folder")
            }
            guard case let .running(_, port) = try primary.state(server) else {
                throw StoreError(.embeddedCluster, "the primary cluster in \(primary.home.path) is not running")
            }
            let source = try primary.readConnection()
            let (_, dataDirectory) = try emptyDataDirectory(server)
            logger.info("taking a base backup for a standby", metadata: ["primary": "127.0.0.1:\(port)", "data": "\(dataDirectory.path)"])
            try server.run("pg_basebackup", [
                "-h", "127.0.0.1", "-p", "\(port)", "-U", source.username, "-D", dataDirectory.path,
                "--write-recovery-conf", "--wal-method", "stream", "--checkpoint", "fast",
            ], environment: ["PGPASSWORD": source.password], failure: "pg_basebackup from the primary at 127.0.0.1:\(port) failed")
            var connection = source
            connection.port = try Self.freePort()
            connection.databaseCreated = true
            try writeConnection(connection)
            try startServer(server, port: connection.port, failure: "cannot start the standby")
            return configuration(for: connection)
        }
    }

    /// Makes this standby a primary that takes writes (`pg_ctl promote`), once its primary is
    /// lost; returns when it accepts them.
    public func promote() throws(StoreError) {
        try withLock { () throws(StoreError) in
            try ServerBinaries.locate().run("pg_ctl", ["-D", dataDirectory.path, "-w", "-t", "60", "-s", "promote"],
                                            failure: "cannot promote the standby in \(dataDirectory.path)")
        }
    }
}
