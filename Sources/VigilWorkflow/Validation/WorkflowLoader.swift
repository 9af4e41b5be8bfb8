import Foundation

/// A workflow file read and validated: its path, exact text and spec.
public struct WorkflowFile: Sendable {
    public let path: String
    /// The file's exact text; the store versions workflows by its hash.
    public let source: String
    public let spec: WorkflowSpec

    public init(path: String, source: String, spec: WorkflowSpec) {
        self.path = path
        self.source = source
        self.spec = spec
    }
}

/// Reads and validates workflow files, reporting every problem at `file:line:column`.
public enum WorkflowLoader {
    /// Reads and validates the file at `path`.
    ///
    /// - Throws: ``WorkflowError`` with every problem found, sorted by position.
    public static func load(path: String, catalog: StepCatalog = .builtIn) throws(WorkflowError) -> WorkflowFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw WorkflowError([Diagnostic(SourceLocation(file: path, line: 1, column: 1), "cannot read the file: \((error as NSError).localizedDescription)")])
        }
        let bytes = [UInt8](data)
        let spec = try parse(bytes, file: path, catalog: catalog)
        return WorkflowFile(path: path, source: String(decoding: bytes, as: UTF8.self), spec: spec)
    }

    /// Validates a workflow's text; `file` names it in messages.
    public static func parse(_ bytes: [UInt8], file: String, catalog: StepCatalog = .builtIn) throws(WorkflowError) -> WorkflowSpec {
        guard let root = try YAMLLoader.load(bytes, file: file) else {
            throw WorkflowError([Diagnostic(SourceLocation(file: file, line: 1, column: 1), "the file is empty; a workflow needs a name and steps")])
        }
        var reader = WorkflowReader()
        guard let spec = reader.read(root, file: file) else { throw WorkflowError(reader.reader.diagnostics) }
        var checks = WorkflowChecks(spec: spec, sources: reader.sources, catalog: catalog, reader: reader.reader)
        let diagnostics = checks.run(concurrencyKey: reader.concurrencyKey)
        guard diagnostics.isEmpty else { throw WorkflowError(Array(Set(diagnostics))) }
        return spec
    }

    /// The workflow files under `paths`: files as given, folders searched for `*.yaml` and `*.yml`.
    public static func files(in paths: [String]) -> [String] {
        var result: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                result.append(path)
                continue
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            result += names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
                .map { URL(fileURLWithPath: path).appendingPathComponent($0).path }
        }
        return result
    }
}
