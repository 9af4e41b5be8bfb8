import Logging
import PostgresNIO

/// A pool of connections to Vigil's database, lent for the lifetime of a closure.
///
/// ```swift
/// try await Database.withDatabase(configuration, logger: logger) { database in
///     try await Migrator(database: database).apply()
/// }
/// ```
public final class Database: Sendable {
    public let configuration: DatabaseConfiguration
    /// The pool itself: SQL stays in this target, so only the package's own tests reach it.
    package let client: PostgresClient
    public let logger: Logger

    private init(configuration: DatabaseConfiguration, client: PostgresClient, logger: Logger) {
        self.configuration = configuration
        self.client = client
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
        try await checkReachable(configuration, logger: logger)
        var clientConfiguration = try configuration.clientConfiguration()
        clientConfiguration.options.maximumConnections = maximumConnections
        // The pool warns when a lease races `run()` starting; that and other pool chatter only matter when debugging.
        var backgroundLogger = logger
        backgroundLogger.logLevel = logger.logLevel <= .debug ? logger.logLevel : .error
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: backgroundLogger)
        let database = Database(configuration: configuration, client: client, logger: logger)
        let runner = Task(executorPreference: ThreadExecutor.connectionPools) { await client.run() }
        do {
            let result = try await body(database)
            await shutDown(runner, logger: logger)
            return result
        } catch {
            await shutDown(runner, logger: logger)
            throw error
        }
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
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try configuration.connectionConfiguration(), id: 0, logger: logger
            )
            try await connection.close()
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(
                .unreachable,
                "cannot connect to PostgreSQL at \(configuration.url()): \(StoreError.explain(error))",
                underlying: error
            )
        }
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
