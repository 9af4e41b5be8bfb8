import ArgumentParser
import VigilWorkflow

/// `vigil validate`: checks workflow files before anything runs.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check workflow files; print every problem as file:line:column: message.",
        discussion: "Exit code 0 when every file is valid, 1 when any problem is found."
    )

    @Argument(help: "Workflow files or folders (default: workflows/).")
    var paths: [String] = []

    func run() throws {
        let files = WorkflowLoader.files(in: paths.isEmpty ? ["workflows"] : paths)
        guard !files.isEmpty else { throw CommandFailure("no workflow files (*.yaml, *.yml) in \(paths.isEmpty ? "workflows" : paths.joined(separator: ", "))") }
        var problems = 0
        var names: [String: String] = [:]
        for file in files {
            do {
                let workflow = try WorkflowLoader.load(path: file)
                if let other = names[workflow.spec.name] {
                    printError("\(file):1:1: workflow name '\(workflow.spec.name)' is also used by \(other)")
                    problems += 1
                }
                names[workflow.spec.name] = file
            } catch {
                for diagnostic in error.diagnostics { printError(diagnostic.description) }
                problems += error.diagnostics.count
            }
        }
        guard problems == 0 else {
            printError("\(problems) problem\(problems == 1 ? "" : "s") in \(files.count) file\(files.count == 1 ? "" : "s")")
            throw ExitCode.failure
        }
        print("\(files.count) workflow\(files.count == 1 ? "" : "s") valid: \(names.keys.sorted().joined(separator: ", "))")
    }
}
