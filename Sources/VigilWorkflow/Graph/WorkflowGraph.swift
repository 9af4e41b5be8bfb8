/// A workflow's steps as a graph: topological order, and renderings for the terminal, Mermaid and
/// Graphviz DOT.
public struct WorkflowGraph: Sendable {
    public let spec: WorkflowSpec

    public init(_ spec: WorkflowSpec) {
        self.spec = spec
    }

    /// Steps in an order where every step comes after the steps it needs (file order among peers).
    /// A validated workflow has no cycle; steps in one would be left out.
    public var topologicalOrder: [StepSpec] {
        StepIndex(spec.steps).topologicalOrder()
    }

    /// Each step's depth: 0 for steps with no needs, else one more than its deepest need.
    public var levels: [String: Int] {
        var levels: [String: Int] = [:]
        for step in topologicalOrder {
            levels[step.name] = (step.needs.compactMap { levels[$0] }.max() ?? -1) + 1
        }
        return levels
    }

    /// One line per step, indented by depth, with its type, needs and condition.
    public var text: String {
        let levels = self.levels
        let order = topologicalOrder
        let width = order.map { levels[$0.name, default: 0] * 2 + $0.name.count }.max() ?? 0
        let typeWidth = order.map(\.uses.count).max() ?? 0
        var lines = ["\(spec.name)" + (spec.schedule.map { "  (schedule \($0.cron), \($0.timezone))" } ?? "")]
        for step in order {
            let indent = String(repeating: "  ", count: levels[step.name, default: 0])
            var line = "  " + (indent + step.name).padding(toLength: width, withPad: " ", startingAt: 0)
            line += "  " + step.uses.padding(toLength: typeWidth, withPad: " ", startingAt: 0)
            if !step.needs.isEmpty { line += "  ← \(step.needs.joined(separator: ", "))" }
            if let condition = step.condition { line += "  if: \(condition)" }
            if step.approval != nil { line += "  [approval]" }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A Mermaid flowchart.
    public var mermaid: String {
        var lines = ["flowchart TD"]
        for step in spec.steps {
            lines.append("    \(Self.identifier(step.name))[\"\(step.name)<br/><i>\(step.uses)</i>\"]")
        }
        for step in spec.steps {
            for need in step.needs {
                let label = step.condition.map { "|\"if \(Self.escaped($0, quote: "#quot;"))\"|" } ?? ""
                lines.append("    \(Self.identifier(need)) -->\(label) \(Self.identifier(step.name))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A Graphviz DOT digraph.
    public var dot: String {
        var lines = ["digraph \"\(spec.name)\" {", "    rankdir=TB;", "    node [shape=box, style=rounded];"]
        for step in spec.steps {
            lines.append("    \"\(step.name)\" [label=\"\(step.name)\\n(\(step.uses))\"];")
        }
        for step in spec.steps {
            for need in step.needs {
                let label = step.condition.map { " [label=\"if \(Self.escaped($0, quote: "\\\""))\"]" } ?? ""
                lines.append("    \"\(need)\" -> \"\(step.name)\"\(label);")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func identifier(_ name: String) -> String {
        "s_" + name.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }

    private static func escaped(_ text: String, quote: String) -> String {
        text.replacingOccurrences(of: "\"", with: quote)
    }
}
