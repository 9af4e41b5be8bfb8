/// A string that may hold `${{ expression }}` parts, as in a step's `with:` values.
public struct Template: Sendable, Hashable {
    public enum Part: Sendable, Hashable {
        case text(String)
        /// An expression and the character offset of its source within the template.
        case expression(Expression, offset: Int)
    }

    public let parts: [Part]

    /// Whether the whole string is one expression, whose value keeps its type (a number stays a number).
    public var isSingleExpression: Bool {
        if parts.count == 1, case .expression = parts[0] { return true }
        return false
    }

    public var expressions: [(Expression, offset: Int)] {
        parts.compactMap { if case let .expression(expression, offset) = $0 { (expression, offset) } else { nil } }
    }

    /// Parses `source`; errors carry the character offset within `source`.
    public init(_ source: String) throws(ExpressionError) {
        var parts: [Part] = []
        let characters = Array(source)
        var text = ""
        var index = 0
        while index < characters.count {
            if characters[index] == "$", index + 2 < characters.count, characters[index + 1] == "{", characters[index + 2] == "{" {
                let start = index + 3
                var end = start
                while end + 1 < characters.count && !(characters[end] == "}" && characters[end + 1] == "}") { end += 1 }
                guard end + 1 < characters.count else {
                    throw ExpressionError(offset: index, message: "'${{' is never closed with '}}'")
                }
                if !text.isEmpty { parts.append(.text(text)) }
                text = ""
                do {
                    parts.append(.expression(try ExpressionParser.parse(String(characters[start..<end])), offset: start))
                } catch {
                    throw ExpressionError(offset: start + error.offset, message: error.message)
                }
                index = end + 2
            } else {
                text.append(characters[index])
                index += 1
            }
        }
        if !text.isEmpty || parts.isEmpty { parts.append(.text(text)) }
        self.parts = parts
    }

    /// The template's value: the expression's own value when it is one whole expression, else text.
    public func evaluate(in context: ExpressionContext) throws(ExpressionError) -> JSONValue {
        if isSingleExpression, case let .expression(expression, _) = parts[0] {
            return try ExpressionEvaluator(context: context).evaluate(expression)
        }
        var result = ""
        for part in parts {
            switch part {
            case let .text(text): result += text
            case let .expression(expression, _): result += try ExpressionEvaluator(context: context).evaluate(expression).description
            }
        }
        return .string(result)
    }
}
