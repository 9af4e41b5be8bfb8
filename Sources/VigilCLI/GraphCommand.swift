import ArgumentParser
import Foundation
import VigilStore
import VigilWorkflow

/// `vigil graph`: a workflow's steps as a graph.
struct GraphCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Print a workflow's step graph in the terminal, or as Mermaid or Graphviz DOT.",
        discussion: "NAME is a stored workflow (latest version unless --version), or a path to a workflow file."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, mermaid, dot
    }

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A stored workflow's name, or a workflow file.") var name: String
    @Option(help: "The stored version (default: the latest).") var version: Int?
    @Option(help: "Output: text, mermaid or dot.") var format: Format = .text

    func run() async throws {
        let spec: WorkflowSpec
        if name.hasSuffix(".yaml") || name.hasSuffix(".yml") || FileManager.default.fileExists(atPath: name) {
            spec = try WorkflowFiles.loadAll([name])[0].spec
        } else {
            spec = try await global.withDatabase(logger: global.makeLogger()) { database in
                try await WorkflowStore(database: database).version(of: name, version).spec
            }
        }
        let graph = WorkflowGraph(spec)
        switch format {
        case .text: print(graph.text, terminator: "")
        case .mermaid: print(graph.mermaid, terminator: "")
        case .dot: print(graph.dot, terminator: "")
        }
    }
}
