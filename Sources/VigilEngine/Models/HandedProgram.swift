import Foundation

/// A program Vigil hands files to (a `command` trainer, a `command` scorer).
///
/// It runs in a process group of its own with Vigil's environment minus every `VIGIL_…` and `PG…`
/// variable (so no database credentials reach it), plus the variables it is given; its output
/// streams into the step's log, and cancelling the step kills the group.
struct HandedProgram {
    /// The program and its own arguments, as the workflow names them.
    let command: [String]
    /// What the program is, for messages: "training command", "scorer".
    let role: String
    /// The error a failure is reported as.
    let failure: (String) -> any Error

    /// Where a program's output lines go: the lines and their stream (`stdout`, `stderr`).
    typealias OutputSink = @Sendable (_ lines: [String], _ stream: String) async -> Void

    /// Runs `command + arguments` with `variables`, its output into the step's log, and returns
    /// when it exits with status 0.
    func run(arguments: [String], variables: [String: String], context: StepContext) async throws {
        try await run(arguments: arguments, variables: variables) { lines, stream in await context.log(lines, stream: stream) }
    }

    /// Runs `command + arguments` with `variables`, its output into `output`, and returns when it
    /// exits with status 0.
    func run(arguments: [String], variables: [String: String], output: OutputSink) async throws {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VIGIL_") && !$0.key.hasPrefix("PG") }
        environment.merge(variables) { $1 }
        let group: ProcessGroup
        do {
            group = try ProcessGroup.start(command + arguments, environment: environment, workingDirectory: nil)
        } catch {
            throw failure(error.description)
        }
        let exit = try await group.wait { stream, lines in await output(lines, stream) }
        guard exit.status == 0 else { throw failure("the \(role) \(command[0]) exited with status \(exit.status)") }
    }
}
