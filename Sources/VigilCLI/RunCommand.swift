import ArgumentParser
import Foundation
import VigilEngine
import VigilStore
import VigilWorkflow

/// `vigil run`: starts a run by hand.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Start a run of a stored workflow, and with --wait follow it live.",
        discussion: "Exit code with --wait: 0 when the run succeeds, 1 when it fails or is cancelled."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The workflow (as stored by vigil apply).") var workflow: String
    @Option(name: .customLong("param"), help: ArgumentHelp("A parameter, name=value; repeat for more.", valueName: "name=value"))
    var params: [String] = []
    @Flag(help: "Follow the run in the terminal until it ends.") var wait = false

    func run() async throws {
        let logger = global.makeLogger()
        let actor = global.actor
        let id = try await global.withDatabase(logger: logger) { database in
            let spec = try await WorkflowStore(database: database).version(of: workflow).spec
            guard spec.triggers.isEmpty || spec.triggers.contains(where: { $0.kind == .manual }) else {
                throw CommandFailure("workflow \(workflow) does not allow manual runs (add '- manual' to its triggers)")
            }
            var values: [String: JSONValue] = [:]
            for param in params {
                guard let equals = param.firstIndex(of: "=") else { throw CommandFailure("--param takes name=value, got '\(param)'") }
                let name = String(param[..<equals])
                values[name] = RunLauncher.parse(String(param[param.index(after: equals)...]), as: name, for: spec)
            }
            do {
                let creation = try await RunLauncher(database: database).start(workflow, params: values, trigger: RunTrigger(kind: .manual, actor: actor))
                switch creation {
                case let .created(id): print("started run \(id) of \(workflow)")
                case let .existing(id): print("run \(id) of \(workflow) already exists")
                case let .skipped(other): throw CommandFailure("not started: run \(other) of \(workflow) is going and its concurrency policy is skip")
                }
                return creation.runID
            } catch let error as LaunchError {
                throw CommandFailure(error.description)
            }
        }
        guard wait else { return }
        let final = try await global.withDatabase(logger: logger) { database in
            try await RunFollower(store: RunStore(database: database)).follow(id)
        }
        if final != .succeeded { throw ExitCode.failure }
    }
}

/// Prints a run's step changes as they happen, until it ends.
struct RunFollower {
    let store: RunStore

    func follow(_ id: Int) async throws -> RunState {
        var seen: [String: StepState] = [:]
        var lastChange = ContinuousClock.now
        var hinted = false
        let time = DateFormatter()
        time.dateFormat = "HH:mm:ss"
        while true {
            let run = try await store.run(id)
            for step in try await store.steps(ofRun: id) where seen[step.name] != step.state {
                seen[step.name] = step.state
                lastChange = .now
                var line = "\(time.string(from: Date()))  \(step.name.padding(toLength: 16, withPad: " ", startingAt: 0))  \(step.state.rawValue)"
                if step.attempt > 1 { line += "  (attempt \(step.attempt))" }
                if let started = step.startedAt, let finished = step.finishedAt { line += "  \(Self.duration(finished.timeIntervalSince(started)))" }
                if let error = step.error, step.state == .failed || step.state == .retrying { line += "  \(error)" }
                print(line)
            }
            if run.state.isTerminal {
                print("run \(id) \(run.state.rawValue)" + (run.error.map { ": \($0)" } ?? ""))
                return run.state
            }
            if !hinted && run.state == .queued && ContinuousClock.now - lastChange > .seconds(5) {
                printError("no worker has claimed a step yet; is `vigil worker` or `vigil serve` running against this database?")
                hinted = true
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    static func duration(_ seconds: TimeInterval) -> String {
        seconds < 1 ? String(format: "%.0fms", seconds * 1_000) : seconds < 120 ? String(format: "%.1fs", seconds) : String(format: "%.0fm%02.0fs", (seconds / 60).rounded(.down), seconds.truncatingRemainder(dividingBy: 60))
    }
}

/// `vigil trigger`: an event that starts every workflow whose triggers match it.
struct TriggerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger",
        abstract: "Send an event; every workflow whose triggers match it starts (subject to its concurrency policy)."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The event (or alert, or webhook) name.") var name: String
    @Option(help: "What kind of trigger: event, alert or webhook.") var kind: String = "event"
    @Option(name: .customLong("label"), help: ArgumentHelp("A label, key=value; repeat for more.", valueName: "key=value"))
    var labels: [String] = []
    @Option(help: "An idempotency key: the same key never starts a second run of a workflow.") var key: String?

    func run() async throws {
        guard let kind = Trigger.Kind(rawValue: kind), kind != .manual else {
            throw ValidationError("--kind must be event, alert or webhook")
        }
        var parsed: [String: String] = [:]
        for label in labels {
            guard let equals = label.firstIndex(of: "=") else { throw ValidationError("--label takes key=value, got '\(label)'") }
            parsed[String(label[..<equals])] = String(label[label.index(after: equals)...])
        }
        let trigger = RunTrigger(kind: kind, name: name, labels: parsed, fingerprint: key, actor: global.actor)
        let started = try await global.withDatabase(logger: global.makeLogger()) { database in
            try await RunLauncher(database: database).trigger(trigger, idempotencyKey: key)
        }
        if started.isEmpty { print("no workflow's triggers match \(kind.rawValue) '\(name)'") }
        for (workflow, creation) in started {
            switch creation {
            case let .created(id): print("\(workflow): started run \(id)")
            case let .existing(id): print("\(workflow): run \(id) already exists for this key")
            case let .skipped(other): print("\(workflow): not started; run \(other) is going (concurrency policy skip)")
            }
        }
    }
}
