/// Parses expression source into an ``Expression``.
///
/// Errors point at the character offset where parsing failed.
public struct ExpressionParser {
    enum Token: Equatable {
        case number(Double), string(String), identifier(String), symbol(String), end
    }

    private var tokens: [(token: Token, offset: Int)] = []
    private var position = 0

    /// Parses `source`, which must be one whole expression.
    public static func parse(_ source: String) throws(ExpressionError) -> Expression {
        var parser = ExpressionParser()
        parser.tokens = try tokenize(source)
        let expression = try parser.parseOr()
        guard case .end = parser.current.token else {
            throw ExpressionError(offset: parser.current.offset, message: "unexpected \(parser.describe(parser.current.token)) after the end of the expression")
        }
        return expression
    }

    private var current: (token: Token, offset: Int) { tokens[position] }

    private mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    private mutating func accept(_ symbol: String) -> Bool {
        if current.token == .symbol(symbol) {
            advance()
            return true
        }
        return false
    }

    private mutating func expect(_ symbol: String, _ context: String) throws(ExpressionError) {
        guard accept(symbol) else {
            throw ExpressionError(offset: current.offset, message: "expected '\(symbol)' \(context), found \(describe(current.token))")
        }
    }

    private mutating func parseOr() throws(ExpressionError) -> Expression {
        var lhs = try parseAnd()
        while case .symbol("||") = current.token {
            let at = current.offset
            advance()
            lhs = .binary(.or, lhs, try parseAnd(), at: at)
        }
        return lhs
    }

    private mutating func parseAnd() throws(ExpressionError) -> Expression {
        var lhs = try parseNot()
        while case .symbol("&&") = current.token {
            let at = current.offset
            advance()
            lhs = .binary(.and, lhs, try parseNot(), at: at)
        }
        return lhs
    }

    private mutating func parseNot() throws(ExpressionError) -> Expression {
        if case .symbol("!") = current.token {
            let at = current.offset
            advance()
            return .not(try parseNot(), at: at)
        }
        return try parseComparison()
    }

    private mutating func parseComparison() throws(ExpressionError) -> Expression {
        let lhs = try parsePrimary()
        let comparisons: [String: Expression.BinaryOperator] = [
            "==": .equal, "!=": .notEqual, "<": .less, "<=": .lessOrEqual, ">": .greater, ">=": .greaterOrEqual,
        ]
        if case let .symbol(symbol) = current.token, let op = comparisons[symbol] {
            let at = current.offset
            advance()
            return .binary(op, lhs, try parsePrimary(), at: at)
        }
        if case .identifier("in") = current.token {
            let at = current.offset
            advance()
            return .binary(.in, lhs, try parsePrimary(), at: at)
        }
        return lhs
    }

    private mutating func parsePrimary() throws(ExpressionError) -> Expression {
        let (token, at) = current
        switch token {
        case let .number(value):
            advance()
            return .literal(.number(value), at: at)
        case let .string(value):
            advance()
            return .literal(.string(value), at: at)
        case .symbol("("):
            advance()
            let inner = try parseOr()
            try expect(")", "to close '('")
            return inner
        case .symbol("["):
            advance()
            var items: [Expression] = []
            if !accept("]") {
                repeat { items.append(try parseOr()) } while accept(",")
                try expect("]", "to close the list")
            }
            return .list(items, at: at)
        case let .identifier(name):
            advance()
            switch name {
            case "true": return .literal(.bool(true), at: at)
            case "false": return .literal(.bool(false), at: at)
            case "null": return .literal(.null, at: at)
            default: break
            }
            if accept("(") {
                guard let function = ExpressionFunction(rawValue: name) else {
                    let names = ExpressionFunction.allCases.map(\.rawValue)
                    throw ExpressionError(offset: at, message: "unknown function '\(name)'\(Suggestion.hint(for: name, in: names))")
                }
                var arguments: [Expression] = []
                if !accept(")") {
                    repeat { arguments.append(try parseOr()) } while accept(",")
                    try expect(")", "to close the arguments of \(name)()")
                }
                guard arguments.count == function.arity else {
                    throw ExpressionError(offset: at, message: "\(name)() takes \(function.arity) argument\(function.arity == 1 ? "" : "s"), found \(arguments.count)")
                }
                return .call(function, arguments: arguments, at: at)
            }
            var components: [Expression.PathComponent] = []
            while true {
                if accept(".") {
                    guard case let .identifier(component) = current.token else {
                        throw ExpressionError(offset: current.offset, message: "expected a name after '.', found \(describe(current.token))")
                    }
                    components.append(.name(component))
                    advance()
                } else if accept("[") {
                    components.append(.index(try parseOr()))
                    try expect("]", "to close the index")
                } else {
                    break
                }
            }
            return .path(root: name, components: components, at: at)
        default:
            throw ExpressionError(offset: at, message: token == .end ? "the expression ends too early" : "unexpected \(describe(token))")
        }
    }

    private func describe(_ token: Token) -> String {
        switch token {
        case let .number(value): "number \(JSONValue.number(value))"
        case let .string(value): "string '\(value)'"
        case let .identifier(name): "'\(name)'"
        case let .symbol(symbol): "'\(symbol)'"
        case .end: "the end"
        }
    }

    static func tokenize(_ source: String) throws(ExpressionError) -> [(token: Token, offset: Int)] {
        let characters = Array(source)
        var tokens: [(token: Token, offset: Int)] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let start = index
            if character.isWhitespace {
                index += 1
                continue
            }
            if character.isNumber {
                while index < characters.count, characters[index].isNumber || characters[index] == "." || characters[index] == "e"
                    || ((characters[index] == "-" || characters[index] == "+") && characters[index - 1] == "e") {
                    index += 1
                }
                guard let value = Double(String(characters[start..<index])) else {
                    throw ExpressionError(offset: start, message: "invalid number '\(String(characters[start..<index]))'")
                }
                tokens.append((.number(value), start))
            } else if character == "'" || character == "\"" {
                index += 1
                var text = ""
                while true {
                    guard index < characters.count else {
                        throw ExpressionError(offset: start, message: "a string is never closed")
                    }
                    if characters[index] == character {
                        // A doubled quote inside the string is one quote, as in GitHub Actions.
                        if index + 1 < characters.count && characters[index + 1] == character {
                            text.append(character)
                            index += 2
                            continue
                        }
                        index += 1
                        break
                    }
                    text.append(characters[index])
                    index += 1
                }
                tokens.append((.string(text), start))
            } else if character.isLetter || character == "_" {
                while index < characters.count, characters[index].isLetter || characters[index].isNumber || characters[index] == "_" || characters[index] == "-" {
                    index += 1
                }
                tokens.append((.identifier(String(characters[start..<index])), start))
            } else {
                let pair = index + 1 < characters.count ? String(characters[index...index + 1]) : ""
                if ["==", "!=", "<=", ">=", "&&", "||"].contains(pair) {
                    tokens.append((.symbol(pair), start))
                    index += 2
                } else if "()[].,!<>".contains(character) {
                    tokens.append((.symbol(String(character)), start))
                    index += 1
                } else {
                    let hint = character == "=" ? "; use '==' to compare" : (character == "&" || character == "|") ? "; use '&&' or '||'" : ""
                    throw ExpressionError(offset: start, message: "unexpected character '\(character)'\(hint)")
                }
            }
        }
        tokens.append((.end, characters.count))
        return tokens
    }
}
