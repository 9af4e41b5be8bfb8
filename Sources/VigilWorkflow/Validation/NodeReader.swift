/// Reads typed values out of ``YAMLNode``s, collecting a located diagnostic for every problem
/// instead of stopping at the first.
struct NodeReader {
    private(set) var diagnostics: [Diagnostic] = []

    mutating func report(_ location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(location, message))
    }

    /// The entries of a mapping by key, after reporting keys outside `allowed` (with a suggestion).
    mutating func mapping(_ node: YAMLNode, in context: String, allowed: [String]) -> [String: YAMLNode.Entry]? {
        guard case let .mapping(entries, _) = node else {
            report(node.location, "\(context) must be a mapping, found \(node.kindDescription)")
            return nil
        }
        var result: [String: YAMLNode.Entry] = [:]
        for entry in entries {
            if allowed.contains(entry.key) {
                result[entry.key] = entry
            } else {
                report(entry.keyLocation, "unknown key '\(entry.key)' in \(context)\(Suggestion.hint(for: entry.key, in: allowed))")
            }
        }
        return result
    }

    mutating func string(_ node: YAMLNode, _ what: String) -> String? {
        guard case let .scalar(scalar) = node, !scalar.isNull else {
            report(node.location, "\(what) must be text, found \(node.kindDescription)")
            return nil
        }
        return scalar.text
    }

    mutating func integer(_ node: YAMLNode, _ what: String, minimum: Int? = nil) -> Int? {
        guard case let .scalar(scalar) = node, !scalar.isQuoted, let value = Int(scalar.text) else {
            report(node.location, "\(what) must be a whole number, found \(node.kindDescription)")
            return nil
        }
        if let minimum, value < minimum {
            report(node.location, "\(what) must be at least \(minimum), found \(value)")
            return nil
        }
        return value
    }

    mutating func number(_ node: YAMLNode, _ what: String) -> Double? {
        guard case let .scalar(scalar) = node, !scalar.isQuoted, let value = Double(scalar.text), value.isFinite else {
            report(node.location, "\(what) must be a number, found \(node.kindDescription)")
            return nil
        }
        return value
    }

    mutating func boolean(_ node: YAMLNode, _ what: String) -> Bool? {
        guard case let .scalar(scalar) = node, !scalar.isQuoted, let value = Self.booleans[scalar.text] else {
            report(node.location, "\(what) must be true or false, found \(node.kindDescription)")
            return nil
        }
        return value
    }

    mutating func duration(_ node: YAMLNode, _ what: String) -> WorkflowDuration? {
        guard case let .scalar(scalar) = node, let value = WorkflowDuration(scalar.text) else {
            report(node.location, "\(what) must be a duration of at most 36500d such as 30s, 5m, 2h or 1d, found \(node.kindDescription)")
            return nil
        }
        guard value.seconds > 0 else {
            report(node.location, "\(what) must be longer than zero")
            return nil
        }
        return value
    }

    mutating func choice<Choice: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ what: String, as type: Choice.Type) -> Choice? where Choice.RawValue == String {
        guard let text = string(node, what) else { return nil }
        if let value = Choice(rawValue: text) { return value }
        let names = Choice.allCases.map(\.rawValue)
        report(node.location, "\(what) must be one of \(names.joined(separator: ", ")), found '\(text)'\(Suggestion.hint(for: text, in: names))")
        return nil
    }

    /// One string or a list of strings.
    mutating func strings(_ node: YAMLNode, _ what: String) -> [(String, SourceLocation)] {
        switch node {
        case let .scalar(scalar) where !scalar.isNull:
            return [(scalar.text, scalar.location)]
        case let .sequence(items, _):
            return items.compactMap { item in string(item, "each item of \(what)").map { ($0, item.location) } }
        default:
            report(node.location, "\(what) must be a name or a list of names, found \(node.kindDescription)")
            return []
        }
    }

    /// The node as JSON: plain scalars become booleans, numbers or null where they look like them.
    static func json(_ node: YAMLNode) -> JSONValue {
        switch node {
        case let .scalar(scalar):
            if scalar.isQuoted { return .string(scalar.text) }
            if scalar.isNull { return .null }
            if let boolean = booleans[scalar.text] { return .bool(boolean) }
            if let number = Double(scalar.text), number.isFinite, scalar.text.first.map({ $0.isNumber || $0 == "-" || $0 == "." }) == true {
                return .number(number)
            }
            return .string(scalar.text)
        case let .sequence(items, _):
            return .array(items.map(json))
        case let .mapping(entries, _):
            return .object(Dictionary(entries.map { ($0.key, json($0.value)) }) { first, _ in first })
        }
    }

    private static let booleans = ["true": true, "false": false, "True": true, "False": false, "TRUE": true, "FALSE": false]
}
