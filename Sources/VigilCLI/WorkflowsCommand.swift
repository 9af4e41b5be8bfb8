import ArgumentParser
import Foundation
import VigilStore
import VigilWorkflow

/// `vigil workflows`: the stored workflows and their versions.
struct WorkflowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflows",
        abstract: "List stored workflows, show a version, or diff two versions.",
        subcommands: [List.self, Show.self, Diff.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List workflows with their latest version.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let summaries = try await global.withDatabase(logger: global.makeLogger()) { database in
                try await WorkflowStore(database: database).list()
            }
            guard !summaries.isEmpty else {
                print("no workflows applied yet; run vigil apply")
                return
            }
            var table = TextTable(["workflow", "version", "versions", "steps", "applied_at", "applied_by"])
            for summary in summaries {
                table.append([summary.name, String(summary.latestVersion), String(summary.versionCount), String(summary.stepCount),
                              ISO8601DateFormatter().string(from: summary.appliedAt), summary.appliedBy])
            }
            print(table.rendered, terminator: "")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a stored version's file text.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The workflow name.") var name: String
        @Option(help: "The version (default: the latest).") var version: Int?

        func run() async throws {
            let stored = try await global.withDatabase(logger: global.makeLogger()) { database in
                try await WorkflowStore(database: database).version(of: name, version)
            }
            print("# \(stored.workflow) version \(stored.version), applied \(ISO8601DateFormatter().string(from: stored.appliedAt)) by \(stored.appliedBy), sha256 \(stored.contentHash)")
            print(stored.source, terminator: stored.source.hasSuffix("\n") ? "" : "\n")
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what changed between two versions (unified diff).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The workflow name.") var name: String
        @Argument(help: "The older version.") var from: Int
        @Argument(help: "The newer version.") var to: Int

        func run() async throws {
            let (old, new) = try await global.withDatabase(logger: global.makeLogger()) { database in
                let store = WorkflowStore(database: database)
                return (try await store.version(of: name, from), try await store.version(of: name, to))
            }
            let diff = LineDiff.unified(old.source, new.source, oldName: "\(name)@\(from)", newName: "\(name)@\(to)")
            print(diff.isEmpty ? "versions \(from) and \(to) of \(name) are identical" : diff, terminator: diff.isEmpty ? "\n" : "")
        }
    }
}
