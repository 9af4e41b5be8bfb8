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
        // Yams can place an error at the end of input past the last line: keep it inside the file.
        let lastLine = text.utf8.reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        func at(_ mark: Mark) -> SourceLocation {
            let line = min(max(mark.line, 1), lastLine)
            return SourceLocation(file: file, line: line, column: line == mark.line ? max(mark.column, 1) : 1)
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let prefix = context.map { $0.text + ": " } ?? ""
            return Diagnostic(at(mark), "invalid YAML: \(prefix)\(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            let first = at(context.mark)
            let duplicate = duplicates.first.flatMap { secondOccurrence(of: $0, after: first, in: text, file: file) }
            let earlier = duplicate == nil ? "" : " (first at line \(first.line))"
            return Diagnostic(duplicate ?? first, "duplicate key \(names) in the same mapping\(earlier)")
        case let .reader(problem, offset, _, _):
            return Diagnostic(location(ofByte: offset ?? 0, in: text, file: file), "invalid text: \(problem)")
        default:
            return Diagnostic(SourceLocation(file: file, line: 1, column: 1), "cannot parse the YAML: \(error)")
        }
    }

    /// Where `key` appears again in the mapping whose first occurrence of it is at `first`: Yams
    /// names only the first, and the one to delete is the later one.
    ///
    /// A block mapping's keys share a column: the duplicate is on a later line at that column,
    /// before the mapping ends (a line indented less). A flow mapping's is on the same or a later
    /// line, after a `{` or `,`.
    static func secondOccurrence(of key: String, after first: SourceLocation, in text: String, file: String) -> SourceLocation? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard first.line >= 1, first.line <= lines.count else { return nil }
        let spellings = [key, "\"\(key)\"", "'\(key)'"]
        func keyStarts(_ rest: Substring) -> Bool {
            spellings.contains { spelling in
                guard rest.hasPrefix(spelling) else { return false }
                return rest.dropFirst(spelling.count).drop { $0 == " " || $0 == "\t" }.first == ":"
            }
        }
        let firstLine = lines[first.line - 1]
        let indent = first.column - 1
        let isFlow = firstLine.prefix(indent).contains("{") || firstLine.prefix(indent).contains(",")
        if isFlow {
            var column = first.column + key.count
            for number in first.line...lines.count {
                let line = Array(lines[number - 1])
                var index = number == first.line ? column - 1 : 0
                while index < line.count {
                    if line[index] == "{" || line[index] == "," {
                        let start = line[(index + 1)...].firstIndex { $0 != " " && $0 != "\t" } ?? line.count
                        if start < line.count, keyStarts(Substring(String(line[start...]))) {
                            return SourceLocation(file: file, line: number, column: start + 1)
                        }
                    }
                    index += 1
                }
                column = 1
            }
            return nil
        }
        for number in (first.line + 1)...max(first.line + 1, lines.count) where number <= lines.count {
            let line = lines[number - 1]
            let content = line.drop { $0 == " " }
            if content.isEmpty || content.hasPrefix("#") { continue }
            let lineIndent = line.count - content.count
            if lineIndent < indent { return nil }
            if lineIndent == indent, keyStarts(content) { return SourceLocation(file: file, line: number, column: indent + 1) }
        }
        return nil
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
