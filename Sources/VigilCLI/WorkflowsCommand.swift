import ArgumentParser
import Foundation
import VigilStore
import VigilWorkflow

/// `vigil workflows`: the stored workflows and their versions.
struct WorkflowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflows",
        abstract: "List stored workflows, show a version, diff two versions; disable, enable or delete a workflow.",
        subcommands: [List.self, Show.self, Diff.self, Disable.self, Enable.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List workflows with their latest version and state.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Deleted workflows too.") var all = false

        func run() async throws {
            let summaries = try await global.withDatabase(logger: global.makeLogger()) { database in
                try await WorkflowStore(database: database).list(includingDeleted: all)
            }
            guard !summaries.isEmpty else {
                print("no workflows applied yet; run vigil apply")
                return
            }
            var table = TextTable(["workflow", "state", "version", "versions", "steps", "applied_at", "applied_by"])
            for summary in summaries {
                table.append([summary.name, summary.state.rawValue, String(summary.latestVersion), String(summary.versionCount), String(summary.stepCount),
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

    /// What disable, enable and delete share: the workflow, why, and the change.
    struct StateChange: ParsableArguments {
        @Argument(help: "The workflow.") var workflow: String
        @Option(help: "Why (recorded in the audit log).") var reason: String

        func apply(_ state: WorkflowState, cancelRuns: Bool = false, global: GlobalOptions) async throws {
            let before = try await global.withDatabase(logger: global.makeLogger()) { database in
                try await WorkflowStore(database: database).setState(workflow, to: state, actor: global.actor, reason: reason, cancelRuns: cancelRuns, now: Date())
            }
            print(before == state ? "workflow \(workflow) was already \(state.rawValue)" : "workflow \(workflow): \(before.rawValue) → \(state.rawValue)")
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a workflow from starting runs (triggers, schedule and people alike) until it is enabled; runs under way go on.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var change: StateChange

        func run() async throws { try await change.apply(.disabled, global: global) }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a disabled (or deleted) workflow start runs again; schedule ticks missed meanwhile are not caught up.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var change: StateChange

        func run() async throws { try await change.apply(.enabled, global: global) }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a workflow: gone from listings, schedules and triggers; its versions, runs and audit trail stay. Refused while runs are active, unless --cancel-runs."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var change: StateChange
        @Flag(help: "Cancel the workflow's queued, running and waiting runs first.") var cancelRuns = false

        func run() async throws { try await change.apply(.deleted, cancelRuns: cancelRuns, global: global) }
    }
}
