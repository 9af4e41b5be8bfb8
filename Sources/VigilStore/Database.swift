import Logging
import PostgresNIO
import Synchronization

/// A pool of connections to Vigil's database, lent for the lifetime of a closure.
///
/// ```swift
/// try await Database.withDatabase(configuration, logger: logger) { database in
///     try await Migrator(database: database).apply()
/// }
/// ```
///
/// With several servers configured (a replicated cluster, ``DatabaseConfiguration/alternates``),
/// the pool connects to the primary and follows a failover: when the primary stops answering or
/// becomes a standby, a new pool to whichever server is now the primary takes over. Work in flight
/// on the old one fails and is retried by its caller, as after any lost connection.
public final class Database: Sendable {
    public let configuration: DatabaseConfiguration
    public let logger: Logger
    let maximumConnections: Int
    /// The pool in use, the server it reaches, and the task running it.
    let pool: Mutex<Pool>

    struct Pool {
        var client: PostgresClient
        var endpoint: DatabaseConfiguration.Endpoint
        var runner: Task<Void, Never>
    }

    /// The pool itself: SQL stays in this target, so only the package's own tests reach it.
    package var client: PostgresClient { pool.withLock { $0.client } }

    /// The server the pool reaches now (the primary, when several are configured).
    public var endpoint: DatabaseConfiguration.Endpoint { pool.withLock { $0.endpoint } }

    private init(configuration: DatabaseConfiguration, maximumConnections: Int, pool: Pool, logger: Logger) {
        self.configuration = configuration
        self.maximumConnections = maximumConnections
        self.pool = Mutex(pool)
        self.logger = logger
    }

    /// Checks the server is reachable, then runs `body` with a connection pool that is shut down afterwards.
    ///
    /// - Throws: ``StoreError`` with code `.unreachable` when the server cannot be reached or refuses the login,
    ///   or whatever `body` throws.
    public static func withDatabase<Result: Sendable>(
        _ configuration: DatabaseConfiguration,
        maximumConnections: Int = 20,
        logger: Logger,
        _ body: (Database) async throws -> Result
    ) async throws -> Result {
        let endpoint = try await primary(of: configuration, logger: logger)
        let database = Database(
            configuration: configuration, maximumConnections: maximumConnections,
            pool: try makePool(configuration.at(endpoint), maximumConnections: maximumConnections, logger: logger), logger: logger
        )
        let watcher = configuration.alternates.isEmpty ? nil : Task { await database.followFailovers() }
        do {
            let result = try await body(database)
            watcher?.cancel()
            await shutDown(database.pool.withLock { $0.runner }, logger: logger)
            return result
        } catch {
            watcher?.cancel()
            await shutDown(database.pool.withLock { $0.runner }, logger: logger)
            throw error
        }
    }

    static func makePool(_ configuration: DatabaseConfiguration, maximumConnections: Int, logger: Logger) throws -> Pool {
        var clientConfiguration = try configuration.clientConfiguration()
        clientConfiguration.options.maximumConnections = maximumConnections
        // The pool warns when a lease races `run()` starting; that and other pool chatter only matter when debugging.
        var backgroundLogger = logger
        backgroundLogger.logLevel = logger.logLevel <= .debug ? logger.logLevel : .error
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: backgroundLogger)
        let runner = Task(executorPreference: ThreadExecutor.connectionPools) { await client.run() }
        return Pool(client: client, endpoint: DatabaseConfiguration.Endpoint(host: configuration.host, port: configuration.port), runner: runner)
    }

    /// Stops the pool and waits for it, but not forever.
    ///
    /// `PostgresClient.run()` returns soon after it is cancelled, but it has been seen not to
    /// (under load, with every connection already closed), which left the caller — a command, a
    /// test, a worker shutting down — waiting for good. Past `grace` the pool is left to finish
    /// on its own and the caller goes on.
    static func shutDown(_ runner: Task<Void, Never>, logger: Logger, grace: Duration = .seconds(5)) async {
        runner.cancel()
        let finished = await runner.finishes(before: { try? await Task.sleep(for: grace) })
        if !finished {
            logger.warning("the PostgreSQL connection pool did not stop in time; leaving it to finish on its own")
        }
    }

    /// Opens and closes one connection, turning any failure into one readable line.
    public static func checkReachable(_ configuration: DatabaseConfiguration, logger: Logger) async throws(StoreError) {
        _ = try await primary(of: configuration, logger: logger)
    }
}

extension Database {
    /// Asks the server for `SELECT 1`; throws when it does not answer.
    public func ping() async throws {
        try await client.query("SELECT 1", logger: logger)
    }

    /// Runs `body` in a transaction; an error thrown by `body` comes back as itself rather than
    /// wrapped in `PostgresTransactionError`, so callers can match on it.
    package func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }
}
