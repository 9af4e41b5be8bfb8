import ArgumentParser
import Foundation
import VigilStore
import VigilWorkflow

/// `vigil runs`: what ran, what is running, and why.
struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List runs, show one with its steps and history, cancel or retry one.",
        subcommands: [List.self, Show.self, Cancel.self, Retry.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List runs, newest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this workflow's runs.") var workflow: String?
        @Option(help: "Only runs in this state (\(RunState.allCases.map(\.rawValue).joined(separator: ", "))).") var state: String?
        @Option(help: "At most this many, 1 to 100000.") var limit = 50
        @Option(help: "table or json.") var format: ReportFormat = .table

        func validate() throws { try ListLimit.check(limit) }

        func run() async throws {
            let filter = try state.map { text in
                guard let state = RunState(rawValue: text) else { throw ValidationError("unknown state '\(text)'") }
                return state
            }
            let runs = try await global.withDatabase(logger: global.makeLogger()) { database in
                try await RunStore(database: database).list(workflow: workflow, state: filter, limit: limit)
            }
            if format == .json {
                print(try JSONOutput.encode(["runs": runs.map(RunJSON.init)]))
                return
            }
            var table = TextTable(["run", "workflow", "version", "state", "trigger", "created_at", "duration", "error"])
            for run in runs {
                let duration = run.startedAt.map { RunFollower.duration((run.finishedAt ?? Date()).timeIntervalSince($0)) } ?? ""
                table.append([String(run.id), run.workflow, String(run.workflowVersion), run.state.rawValue,
                              run.trigger.kind.rawValue + (run.trigger.name.map { ":\($0)" } ?? "") + " by \(run.trigger.actor)",
                              ISO8601DateFormatter().string(from: run.createdAt), duration, run.error ?? ""])
            }
            print(table.rendered, terminator: "")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a run: its steps with state, attempts, timings, outputs and errors, and its full history.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The run.") var id: Int
        @Flag(help: "Also print every step's log.") var logs = false
        @Option(help: "table, or json: the run and every step with state, attempts, reason, and each attempt's start, end, worker and outcome.")
        var format: ReportFormat = .table

        func run() async throws {
            try await global.withDatabase(logger: global.makeLogger()) { database in
                let store = RunStore(database: database)
                let run = try await store.run(id)
                if format == .json {
                    let events = try await store.events(ofRun: id)
                    let steps = try await store.steps(ofRun: id).map { StepJSON($0, attempts: StepAttempt.history(of: $0.name, in: events)) }
                    print(try JSONOutput.encode(RunDetailJSON(run: RunJSON(run), steps: steps)))
                    return
                }
                let formatter = ISO8601DateFormatter()
                print("run \(run.id): \(run.workflow) version \(run.workflowVersion), \(run.state.rawValue)" + (run.error.map { " (\($0))" } ?? ""))
                print("triggered by \(run.trigger.kind.rawValue)\(run.trigger.name.map { " '\($0)'" } ?? "") as \(run.trigger.actor) at \(formatter.string(from: run.createdAt))")
                print("\nsteps:")
                var table = TextTable(["step", "type", "state", "attempt", "started", "duration", "outputs", "error"])
                let steps = try await store.steps(ofRun: id)
                for step in steps {
                    let duration = step.startedAt.map { start in step.finishedAt.map { RunFollower.duration($0.timeIntervalSince(start)) } ?? "" } ?? ""
                    let outputs = step.outputs.map { values in values.keys.sorted().map { "\($0)=\(values[$0]!)" }.joined(separator: " ") } ?? ""
                    table.append([step.name, step.type, step.state.rawValue, String(step.attempt), step.startedAt.map(formatter.string(from:)) ?? "",
                                  duration, String(outputs.prefix(80)), step.error ?? ""])
                }
                print(table.rendered, terminator: "")
                print("\nhistory:")
                var history = TextTable(["at", "step", "from", "to", "attempt", "actor", "reason"])
                for event in try await store.events(ofRun: id) {
                    history.append([formatter.string(from: event.at), event.step ?? "(run)", event.fromState ?? "", event.toState,
                                    event.attempt.map(String.init) ?? "", event.actor, event.reason ?? ""])
                }
                print(history.rendered, terminator: "")
                if logs {
                    for step in steps {
                        let lines = try await store.logs(ofRun: id, step: step.name)
                        guard !lines.isEmpty else { continue }
                        print("\nlog of \(step.name):")
                        for line in lines { print("  [\(line.attempt) \(line.stream)] \(line.line)") }
                    }
                }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a run; workers holding its steps stop them.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The run.") var id: Int
        @Option(help: "Why, for the history.") var reason = "cancelled by hand"

        func run() async throws {
            try await global.withDatabase(logger: global.makeLogger()) { database in
                try await RunStore(database: database).cancel(id, actor: global.actor, reason: reason, now: Date())
            }
            print("cancelled run \(id)")
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a finished run's failed steps again, or everything from one step on.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The run.") var id: Int
        @Option(help: "Re-run this step and everything downstream of it.") var from: String?

        func run() async throws {
            try await global.withDatabase(logger: global.makeLogger()) { database in
                try await RunStore(database: database).retry(id, from: from, actor: global.actor, now: Date())
            }
            print("retrying run \(id)" + (from.map { " from step \($0)" } ?? ""))
        }
    }
}

/// `vigil approve` and `vigil reject`: a person's decision on a step waiting for approval.
struct ApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "approve", abstract: "Approve a step waiting for approval.")
    @OptionGroup var decision: ApprovalOptions
    func run() async throws { try await decision.record(approve: true) }
}

struct RejectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reject", abstract: "Reject a step waiting for approval; the step fails.")
    @OptionGroup var decision: ApprovalOptions
    func run() async throws { try await decision.record(approve: false) }
}

struct ApprovalOptions: ParsableArguments {
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The run.") var run: Int
    @Argument(help: "The step.") var step: String
    @Option(help: "Why (recorded with your name).") var reason: String
    @Option(help: ArgumentHelp("A role you act in, as the approval's roles require (repeatable; default approver).", valueName: "role"))
    var role: [String] = ["approver"]

    func validate() throws {
        for role in role where !ApprovalGate.knownRoles.contains(role) {
            throw ValidationError("unknown role '\(role)'; use one of \(ApprovalGate.knownRoles.joined(separator: ", "))")
        }
    }

    func record(approve: Bool) async throws {
        let approver = Approver(name: global.actor, roles: Set(role))
        try await global.withDatabase(logger: global.makeLogger()) { database in
            try await RunStore(database: database).decideApproval(run: run, step: step, approve: approve, approver: approver, reason: reason, now: Date())
        }
        print("\(approve ? "approved" : "rejected") step \(step) of run \(run) as \(global.actor)")
    }
}
