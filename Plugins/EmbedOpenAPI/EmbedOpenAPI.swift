import Foundation
import PackagePlugin

/// Generates `OpenAPIDocument.swift` from `docs/openapi.yaml`, so `vigil serve` serves the very
/// document kept in the repository at `/openapi.yaml`.
@main
struct EmbedOpenAPI: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let document = context.package.directoryURL.appending(path: "docs/openapi.yaml")
        let output = context.pluginWorkDirectoryURL.appending(path: "OpenAPIDocument.swift")
        return [
            .buildCommand(
                displayName: "Embedding docs/openapi.yaml",
                executable: try context.tool(named: "MigrationEmbedder").url,
                arguments: ["--document", "OpenAPIDocument", output.path(), document.path()],
                inputFiles: [document],
                outputFiles: [output]
            )
        ]
    }
}
