import ArgumentParser
import VigilStore
import VigilWorkflow

/// `vigil apply`: stores workflow files as new versions when their content changed.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Validate workflow files and store each changed one as a new version.",
        discussion: "All files are validated first; if any is invalid nothing is stored. An unchanged file is a no-op."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Workflow files or folders (default: workflows/).")
    var paths: [String] = []

    func run() async throws {
        let files = try WorkflowFiles.loadAll(paths)
        let logger = global.makeLogger()
        let applied = try await global.withDatabase(logger: logger) { database in
            try await WorkflowStore(database: database).apply(files, actor: global.actor)
        }
        for result in applied {
            print(result.isNew ? "\(result.workflow): applied as version \(result.version)" : "\(result.workflow): unchanged (version \(result.version))")
        }
    }
}

/// Loading several workflow files, reporting every problem before failing.
enum WorkflowFiles {
    static func loadAll(_ paths: [String]) throws -> [WorkflowFile] {
        let names = WorkflowLoader.files(in: paths.isEmpty ? ["workflows"] : paths)
        guard !names.isEmpty else { throw CommandFailure("no workflow files (*.yaml, *.yml) in \(paths.isEmpty ? "workflows" : paths.joined(separator: ", "))") }
        var files: [WorkflowFile] = []
        var problems: [Diagnostic] = []
        for name in names {
            do {
                files.append(try WorkflowLoader.load(path: name))
            } catch {
                problems += error.diagnostics
            }
        }
        var seen: [String: String] = [:]
        for file in files {
            if let other = seen[file.spec.name] {
                problems.append(Diagnostic(SourceLocation(file: file.path, line: 1, column: 1), "workflow name '\(file.spec.name)' is also used by \(other)"))
            }
            seen[file.spec.name] = file.path
        }
        guard problems.isEmpty else {
            for problem in problems { printError(problem.description) }
            throw CommandFailure("\(problems.count) problem\(problems.count == 1 ? "" : "s") in workflow files; nothing was applied")
        }
        return files
    }
}
