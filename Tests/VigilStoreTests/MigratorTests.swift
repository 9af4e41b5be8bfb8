import Foundation
import PostgresNIO
import Testing
import VigilStore
import VigilTesting

@Suite("Migrator")
struct MigratorTests {
    @Test("applies every migration once, then nothing")
    func appliesOnce() async throws {
        try await TestDatabase.withFresh(migrated: false) { database in
            let migrator = try Migrator(database: database)
            let first = try await migrator.apply()
            #expect(first.map(\.fileName) == MigrationSource.embedded.map(\.fileName))
            let second = try await migrator.apply()
            #expect(second.isEmpty)
            let recorded = try await database.client.query("SELECT count(*) FROM schema_migrations")
                .decode(Int.self).first { _ in true }
            #expect(recorded == MigrationSource.embedded.count)
            let statuses = try await migrator.status()
            #expect(statuses.allSatisfy { $0.isApplied })
        }
    }

    @Test("concurrent migrators apply each file exactly once")
    func concurrentMigrators() async throws {
        try await TestDatabase.withEmptyConfiguration { configuration in
            let results = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await Database.withDatabase(configuration, logger: Logger(label: "test")) { database in
                            try await Migrator(database: database).apply().count
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.reduce(0, +) == MigrationSource.embedded.count)
            try await Database.withDatabase(configuration, logger: Logger(label: "test")) { database in
                let rows = try await database.client.query("SELECT version, count(*) FROM schema_migrations GROUP BY version")
                for try await (_, count) in rows.decode((Int, Int).self) {
                    #expect(count == 1)
                }
            }
        }
    }

    @Test("an applied migration that was edited is refused, naming the file")
    func editedMigrationRefused() async throws {
        try await TestDatabase.withFresh(migrated: false) { database in
            let original = [MigrationFile(fileName: "0001_first.sql", sql: "CREATE TABLE first (id int);")]
            try await Migrator(database: database, files: original).apply()
            let edited = [MigrationFile(fileName: "0001_first.sql", sql: "CREATE TABLE first (id bigint);")]
            await #expect {
                try await Migrator(database: database, files: edited).apply()
            } throws: { error in
                let error = try #require(error as? StoreError)
                return error.code == .migrationChanged && error.message.contains("migrations/0001_first.sql")
            }
        }
    }

    @Test("a failing migration is rolled back whole and names file and line")
    func failingMigrationRollsBack() async throws {
        try await TestDatabase.withFresh(migrated: false) { database in
            let files = [
                MigrationFile(fileName: "0001_good.sql", sql: "CREATE TABLE good (id int);"),
                MigrationFile(fileName: "0002_bad.sql", sql: "CREATE TABLE half (id int);\n\nINSERT INTO missing VALUES (1);"),
            ]
            await #expect {
                try await Migrator(database: database, files: files).apply()
            } throws: { error in
                let error = try #require(error as? StoreError)
                return error.code == .migrationFailed && error.message.contains("migrations/0002_bad.sql:3")
            }
            let tables = try await database.client.query(
                "SELECT to_regclass('good') IS NOT NULL, to_regclass('half') IS NOT NULL"
            ).decode((Bool, Bool).self).first { _ in true }
            #expect(tables?.0 == true)
            #expect(tables?.1 == false)
            let statuses = try await Migrator(database: database, files: files).status()
            #expect(statuses.map(\.isApplied) == [true, false])
        }
    }

    @Test("badly named or duplicate migration files are rejected")
    func invalidFiles() throws {
        #expect(throws: StoreError.self) {
            try MigrationSource.validated([MigrationFile(fileName: "first.sql", sql: "")])
        }
        #expect(throws: StoreError.self) {
            try MigrationSource.validated([
                MigrationFile(fileName: "0001_a.sql", sql: ""), MigrationFile(fileName: "0001_b.sql", sql: ""),
            ])
        }
        #expect(try MigrationSource.validated().count == MigrationSource.embedded.count)
    }
}
