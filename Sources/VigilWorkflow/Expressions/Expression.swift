/// A parsed workflow expression: the small, safe language of `if:` conditions and `${{ … }}`.
///
/// It has literals (numbers, `'strings'`, `true`, `false`, `null`, `[lists]`), dotted paths into
/// `params`, `steps.<name>.outputs`, `steps.<name>.state`, `run` and `trigger`, comparison
/// (`==` `!=` `<` `<=` `>` `>=`), `&&`, `||`, `!`, `in`, and a fixed set of pure functions
/// (``ExpressionFunction``). Nothing in it can reach the environment, files, the network or a
/// shell: evaluation only reads the ``ExpressionContext`` it is given.
public indirect enum Expression: Sendable, Hashable {
    case literal(JSONValue, at: Int)
    case path(root: String, components: [PathComponent], at: Int)
    case call(ExpressionFunction, arguments: [Expression], at: Int)
    case not(Expression, at: Int)
    case binary(BinaryOperator, Expression, Expression, at: Int)
    case list([Expression], at: Int)

    public enum PathComponent: Sendable, Hashable {
        case name(String)
        case index(Expression)
    }

    public enum BinaryOperator: String, Sendable, Hashable {
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        case and = "&&", or = "||", `in` = "in"
    }

    /// The character offset of the expression in its source.
    public var offset: Int {
        switch self {
        case let .literal(_, at), let .path(_, _, at), let .call(_, _, at), let .not(_, at), let .binary(_, _, _, at), let .list(_, at): at
        }
    }

    /// Every path the expression reads, with its offset.
    public var paths: [PathReference] {
        switch self {
        case .literal: []
        case let .path(root, components, at):
            pathReferences(root: root, components: components, at: at)
        case let .call(_, arguments, _): arguments.flatMap(\.paths)
        case let .not(inner, _): inner.paths
        case let .binary(_, lhs, rhs, _): lhs.paths + rhs.paths
        case let .list(items, _): items.flatMap(\.paths)
        }
    }

    private func pathReferences(root: String, components: [PathComponent], at: Int) -> [PathReference] {
        var names: [String] = []
        var nested: [PathReference] = []
        var dynamic = false
        for component in components {
            switch component {
            case let .name(name) where !dynamic: names.append(name)
            case .name: break
            case let .index(inner):
                dynamic = true
                nested += inner.paths
            }
        }
        return [PathReference(root: root, names: names, offset: at)] + nested
    }

    /// Whether the expression calls `always()`, `success()`, `failure()` or `cancelled()`. A
    /// condition that does not is treated as `success() && (…)`, as in GitHub Actions.
    public var usesStatusFunction: Bool {
        switch self {
        case .literal, .path: false
        case let .call(function, arguments, _): function.isStatus || arguments.contains { $0.usesStatusFunction }
        case let .not(inner, _): inner.usesStatusFunction
        case let .binary(_, lhs, rhs, _): lhs.usesStatusFunction || rhs.usesStatusFunction
        case let .list(items, _): items.contains { $0.usesStatusFunction }
        }
    }
}

/// A path an expression reads: its root (`steps`, `params`, …) and the fixed names after it.
public struct PathReference: Sendable, Hashable {
    public let root: String
    /// The names up to the first computed index (`a.b[x].c` gives `a`, `b`).
    public let names: [String]
    public let offset: Int
}

/// The functions expressions may call. All are pure.
public enum ExpressionFunction: String, Sendable, Hashable, CaseIterable {
    case contains, startsWith, endsWith, len, toJSON, always, success, failure, cancelled
    /// In an `evaluate` rule's `when`: how much worse than on the reference a metric is
    /// (`drop(f1)`), or its estimate before labels (`estimated_drop(roc_auc)`).
    case drop
    case estimatedDrop = "estimated_drop"

    public var arity: Int {
        switch self {
        case .contains, .startsWith, .endsWith: 2
        case .len, .toJSON, .drop, .estimatedDrop: 1
        case .always, .success, .failure, .cancelled: 0
        }
    }

    /// Whether its argument is a metric's name: a bare name (`f1`) is passed as the name, not read.
    public var takesMetricName: Bool {
        self == .drop || self == .estimatedDrop
    }

    public var isStatus: Bool {
        switch self {
        case .always, .success, .failure, .cancelled: true
        default: false
        }
    }
}

/// A mistake in an expression, at a character offset of its source.
public struct ExpressionError: Error, Sendable, Equatable {
    public let offset: Int
    public let message: String
}
