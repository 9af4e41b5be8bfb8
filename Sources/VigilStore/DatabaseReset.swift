import Foundation
import Logging
import PostgresNIO

extension Database {
    /// Whether the database holds work of anyone but `actor`: workflows others applied, or models
    /// whose changelog shows another hand. A database without Vigil's schema holds none.
    public func holdsWork(besides actor: String) async throws -> Bool {
        let schema = try await client.query("SELECT to_regclass('workflow_versions') IS NOT NULL AND to_regclass('model_changelog') IS NOT NULL", logger: logger)
        guard try await schema.collect().first?.decode(Bool.self) == true else { return false }
        let rows = try await client.query("""
            SELECT EXISTS (SELECT 1 FROM workflow_versions WHERE applied_by <> \(actor))
                OR EXISTS (SELECT 1 FROM model_changelog WHERE actor <> \(actor) AND actor NOT LIKE 'workflow:%')
            """, logger: logger)
        return try await rows.collect().first?.decode(Bool.self) ?? false
    }

    /// Drops the configured database and creates it again, empty, through the server's
    /// `postgres` database (the login needs the right to create databases).
    public static func recreate(_ configuration: DatabaseConfiguration, logger: Logger) async throws {
        var maintenance = configuration
        maintenance.database = "postgres"
        let name = "\"" + configuration.database.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        try await withDatabase(maintenance, maximumConnections: 1, logger: logger) { database in
            try await database.client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
            try await database.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
    }
}
