import ArgumentParser
import Foundation
import Logging
import VigilStore

/// Options every subcommand accepts: where the database is and how to log.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: ArgumentHelp(
        "PostgreSQL URL (postgres://user:password@host:port/db?sslmode=…). Default: $VIGIL_DATABASE_URL, then PG* variables, then the embedded cluster.",
        valueName: "url"))
    var databaseURL: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    @Option(help: "Log format: text or json.")
    var logFormat: LogFormat = .text

    @Option(name: .customLong("as"), help: ArgumentHelp("Who to record as the actor of changes (default: the operating-system user).", valueName: "name"))
    var actorName: String?

    /// The actor recorded for changes made from this command.
    var actor: String {
        if let actorName, !actorName.isEmpty { return actorName }
        let environment = ProcessInfo.processInfo.environment
        return environment["USER"] ?? environment["LOGNAME"] ?? String(cString: getpwuid(getuid())?.pointee.pw_name ?? strdup("unknown"))
    }

    /// The process-wide logger, set up on first use.
    func makeLogger(label: String = "vigil") -> Logger {
        LogSetup.bootstrap(level: logLevel, format: logFormat)
        return Logger(label: label)
    }

    /// The database to use, by precedence: `--database-url`, `VIGIL_DATABASE_URL`, `PG*` variables,
    /// then the embedded cluster (started if needed).
    func resolveDatabase(logger: Logger) throws -> DatabaseConfiguration {
        let environment = ProcessInfo.processInfo.environment
        do {
            if let url = databaseURL ?? environment["VIGIL_DATABASE_URL"].flatMap({ $0.isEmpty ? nil : $0 }) {
                return try DatabaseConfiguration(url: url)
            }
            if let configuration = try DatabaseConfiguration(libpqEnvironment: environment) {
                return configuration
            }
            return try EmbeddedCluster(home: EmbeddedCluster.defaultHome()).start(logger: logger)
        } catch {
            throw CommandFailure(error)
        }
    }

    /// Whether a database other than the embedded cluster is configured.
    var isExternalDatabaseConfigured: Bool {
        let environment = ProcessInfo.processInfo.environment
        return databaseURL != nil || !(environment["VIGIL_DATABASE_URL"] ?? "").isEmpty || !(environment["PGHOST"] ?? "").isEmpty
    }

    /// Resolves the database, opens a pool and runs `body`; every failure becomes one readable line.
    ///
    /// - Parameter requireSchema: the embedded cluster is migrated on the spot (it is Vigil's own);
    ///   a configured database with pending migrations is refused with the command to run.
    func withDatabase<Result: Sendable>(
        logger: Logger, requireSchema: Bool = true, _ body: (Database) async throws -> Result
    ) async throws -> Result {
        let configuration = try resolveDatabase(logger: logger)
        do {
            return try await Database.withDatabase(configuration, logger: logger) { database in
                if requireSchema {
                    let migrator = try Migrator(database: database)
                    if isExternalDatabaseConfigured {
                        let pending = try await migrator.status().filter { !$0.isApplied }.count
                        if pending > 0 {
                            throw CommandFailure("the database at \(configuration.url()) has \(pending) pending migration\(pending == 1 ? "" : "s"); run `vigil migrate` first")
                        }
                    } else {
                        try await migrator.apply()
                    }
                }
                return try await body(database)
            }
        } catch {
            throw CommandFailure(error)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// How log lines are written to standard error.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// The `--limit` of the list commands: how many rows at most.
enum ListLimit {
    static let range = 1...100_000

    /// - Throws: `ValidationError` naming the accepted range when `limit` is outside it.
    static func check(_ limit: Int) throws {
        guard range.contains(limit) else { throw ValidationError("--limit must be from \(range.lowerBound) to \(range.upperBound), found \(limit)") }
    }
}
