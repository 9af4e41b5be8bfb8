import Foundation
import Logging
import PostgresNIO

/// Applies `migrations/` to a database, each file once, in order, each in its own transaction.
///
/// A PostgreSQL advisory lock serialises concurrent migrators, so several processes starting at
/// once apply each file exactly once. A file whose checksum no longer matches what was applied is
/// refused: schema history is append-only.
public struct Migrator: Sendable {
    /// A migration and whether, and when, it was applied.
    public struct Status: Sendable {
        public let file: MigrationFile
        public let appliedAt: Date?
        public var isApplied: Bool { appliedAt != nil }
    }

    /// The key of the advisory lock held while migrating ("vigil" in ASCII).
    static let lockKey: Int64 = 0x7669_6769_6C

    public let database: Database
    public let files: [MigrationFile]

    public init(database: Database, files: [MigrationFile]? = nil) throws(StoreError) {
        self.database = database
        self.files = try MigrationSource.validated(files ?? MigrationSource.embedded)
    }

    /// Applies every pending migration.
    ///
    /// - Returns: The files applied by this call, empty when the database was up to date.
    /// - Throws: ``StoreError`` `.migrationChanged` when an applied file was edited,
    ///   `.migrationFailed` when a statement fails (that file's transaction is rolled back).
    @discardableResult
    public func apply() async throws -> [MigrationFile] {
        let logger = database.logger
        let files = self.files
        return try await database.client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
            do {
                let applied = try await Self.prepareHistory(connection, files: files, logger: logger)
                var newlyApplied: [MigrationFile] = []
                for file in files where applied[file.fileName] == nil {
                    try await Self.apply(file, on: connection, logger: logger)
                    newlyApplied.append(file)
                }
                try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                return newlyApplied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                throw error
            }
        }
    }

    /// Every known migration with the time it was applied, if it was.
    ///
    /// - Throws: ``StoreError`` `.migrationChanged` when an applied file was edited.
    public func status() async throws -> [Status] {
        let logger = database.logger
        let files = self.files
        let applied = try await database.client.withConnection { connection in
            let exists = try await connection.query(
                "SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger
            ).decode(Bool.self).first { _ in true } ?? false
            return exists ? try await Self.prepareHistory(connection, files: files, logger: logger) : [:]
        }
        return files.map { Status(file: $0, appliedAt: applied[$0.fileName]) }
    }

    /// Creates `schema_migrations` if needed, reads it, and checks applied files are unchanged.
    private static func prepareHistory(
        _ connection: PostgresConnection, files: [MigrationFile], logger: Logger
    ) async throws -> [String: Date] {
        try await connection.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                file_name  text NOT NULL UNIQUE,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
        let rows = try await connection.query(
            "SELECT file_name, checksum, applied_at FROM schema_migrations ORDER BY version", logger: logger
        )
        let byName = Dictionary(uniqueKeysWithValues: files.map { ($0.fileName, $0) })
        var applied: [String: Date] = [:]
        for try await (name, checksum, appliedAt) in rows.decode((String, String, Date).self) {
            if let file = byName[name], file.checksum != checksum {
                throw StoreError(
                    .migrationChanged,
                    "migrations/\(name) was edited after it was applied (checksum \(checksum.prefix(12))… is now \(file.checksum.prefix(12))…); add a new migration instead of changing an applied one"
                )
            }
            applied[name] = appliedAt
        }
        return applied
    }

    private static func apply(_ file: MigrationFile, on connection: PostgresConnection, logger: Logger) async throws {
        let version = file.version ?? 0
        do {
            try await connection.withTransaction(logger: logger) { connection in
                for statement in SQLScript(file.sql).statements {
                    do {
                        try await connection.query(PostgresQuery(unsafeSQL: statement.sql), logger: logger)
                    } catch {
                        throw StoreError(
                            .migrationFailed,
                            "migrations/\(file.fileName):\(statement.line): \(StoreError.explain(error))",
                            underlying: error
                        )
                    }
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, file_name, checksum) VALUES (\(version), \(file.fileName), \(file.checksum))",
                    logger: logger
                )
            }
        } catch {
            throw error as? StoreError ?? StoreError(.migrationFailed, StoreError.explain(error), underlying: error)
        }
        logger.info("applied migration", metadata: ["file": "\(file.fileName)"])
    }
}
