import Foundation
import Yams

/// Loads a workflow file's YAML safely: hostile input fails fast with a located message.
///
/// Before Yams sees the text, a scan rejects what would make parsing slow or deep: files over
/// ``Limits/maximumBytes``, invalid UTF-8, NUL bytes, flow nesting over ``Limits/maximumFlowDepth``,
/// block content indented past ``Limits/maximumIndentation`` columns, and aliases used as keys
/// (which Yams would hash in full). After composing, the tree is copied into ``YAMLNode`` with a
/// budget of ``Limits/maximumNodes`` nodes, so an alias bomb stops at the budget instead of
/// expanding a billion times.
public enum YAMLLoader {
    public enum Limits {
        public static let maximumBytes = 1 << 20
        public static let maximumFlowDepth = 64
        public static let maximumIndentation = 256
        public static let maximumNodes = 100_000
    }

    /// Parses `text` (the contents of `file`) into a positioned tree; `nil` for an empty document.
    ///
    /// - Throws: ``WorkflowError`` with one located diagnostic.
    public static func load(_ bytes: [UInt8], file: String) throws(WorkflowError) -> YAMLNode? {
        let start = SourceLocation(file: file, line: 1, column: 1)
        guard bytes.count <= Limits.maximumBytes else {
            throw WorkflowError([Diagnostic(start, "the file is \(bytes.count / 1024) KiB; workflow files are limited to \(Limits.maximumBytes / 1024) KiB")])
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw WorkflowError([Diagnostic(firstInvalidUTF8(bytes, file: file), "the file is not valid UTF-8 text")])
        }
        if let problem = TextScan(text: text, file: file).firstProblem() {
            throw WorkflowError([problem])
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw WorkflowError([diagnostic(for: error, text: text, file: file)])
        } catch {
            throw WorkflowError([Diagnostic(start, "cannot parse the YAML: \(error)")])
        }
        guard let root else { return nil }
        var budget = Limits.maximumNodes
        return try convert(root, file: file, budget: &budget)
    }

    private static func convert(_ node: Node, file: String, budget: inout Int) throws(WorkflowError) -> YAMLNode {
        let location = SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
        budget -= 1
        guard budget >= 0 else {
            throw WorkflowError([Diagnostic(location, "the document expands to more than \(Limits.maximumNodes) values (through aliases?); workflow files are limited to that")])
        }
        switch node {
        case let .scalar(scalar):
            let quoted = scalar.style != .plain && scalar.style != .any
            let isNull = !quoted && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
            return .scalar(.init(text: scalar.string, isQuoted: quoted, isNull: isNull, location: location))
        case let .sequence(sequence):
            var items: [YAMLNode] = []
            for item in sequence { items.append(try convert(item, file: file, budget: &budget)) }
            return .sequence(items, location)
        case let .mapping(mapping):
            var entries: [YAMLNode.Entry] = []
            for (key, value) in mapping {
                let keyLocation = SourceLocation(file: file, line: key.mark?.line ?? location.line, column: key.mark?.column ?? location.column)
                guard case let .scalar(keyScalar) = key else {
                    throw WorkflowError([Diagnostic(keyLocation, "keys must be plain text, not a list or mapping")])
                }
                entries.append(.init(key: keyScalar.string, keyLocation: keyLocation, value: try convert(value, file: file, budget: &budget)))
            }
            return .mapping(entries, location)
        case .alias:
            throw WorkflowError([Diagnostic(location, "unresolved alias")])
        }
    }

    private static func diagnostic(for error: YamlError, text: String, file: String) -> Diagnostic {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: max(mark.line, 1), column: max(mark.column, 1)) }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let prefix = context.map { $0.text + ": " } ?? ""
            return Diagnostic(at(mark), "invalid YAML: \(prefix)\(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return Diagnostic(at(context.mark), "duplicate key \(names) in the same mapping")
        case let .reader(problem, offset, _, _):
            return Diagnostic(location(ofByte: offset ?? 0, in: text, file: file), "invalid text: \(problem)")
        default:
            return Diagnostic(SourceLocation(file: file, line: 1, column: 1), "cannot parse the YAML: \(error)")
        }
    }

    static func location(ofByte offset: Int, in text: String, file: String) -> SourceLocation {
        var line = 1, column = 1
        for byte in text.utf8.prefix(offset) {
            if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        return SourceLocation(file: file, line: line, column: column)
    }

    private static func firstInvalidUTF8(_ bytes: [UInt8], file: String) -> SourceLocation {
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var line = 1, column = 1
        while case let .scalarValue(scalar) = decoder.decode(&iterator) {
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return SourceLocation(file: file, line: line, column: column)
    }
}
