import ArgumentParser
import Foundation
import VigilStore

/// `vigil migrate`: brings the database schema up to date.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending schema migrations (each once, in order, in its own transaction)."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "List applied and pending migrations instead of applying them.")
    var status = false

    func run() async throws {
        let logger = global.makeLogger()
        try await global.withDatabase(logger: logger, requireSchema: false) { database in
            let migrator = try Migrator(database: database)
            if status {
                try await printStatus(migrator)
            } else {
                let applied = try await migrator.apply()
                for file in applied { print("applied \(file.fileName)") }
                let latest = migrator.files.last?.version ?? 0
                let target = database.configuration.url()
                if applied.isEmpty {
                    print("nothing to apply: database is at version \(latest) (\(migrator.files.count) migrations) at \(target)")
                } else {
                    print("applied \(applied.count) migration\(applied.count == 1 ? "" : "s"): database is at version \(latest) at \(target)")
                }
            }
        }
    }

    private func printStatus(_ migrator: Migrator) async throws {
        let statuses = try await migrator.status()
        let formatter = ISO8601DateFormatter()
        let width = max(4, statuses.map(\.file.fileName.count).max() ?? 0)
        print("FILE".padding(toLength: width, withPad: " ", startingAt: 0) + "  APPLIED")
        for status in statuses {
            let applied = status.appliedAt.map(formatter.string(from:)) ?? "pending"
            print(status.file.fileName.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + applied)
        }
        let pending = statuses.filter { !$0.isApplied }.count
        print("\(statuses.count - pending) applied, \(pending) pending")
    }
}
