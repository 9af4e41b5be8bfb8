import Foundation

/// What an expression can read: the run's parameters, finished steps, the run and its trigger.
public struct ExpressionContext: Sendable {
    /// A finished (or skipped) upstream step.
    public struct StepResult: Sendable {
        public var state: String
        public var outputs: [String: JSONValue]

        public init(state: String, outputs: [String: JSONValue]) {
            self.state = state
            self.outputs = outputs
        }
    }

    public var params: [String: JSONValue]
    public var steps: [String: StepResult]
    public var run: [String: JSONValue]
    public var trigger: [String: JSONValue]
    /// Whether an upstream step failed (for `failure()` and `success()`).
    public var upstreamFailed: Bool
    public var cancelled: Bool
    /// For an `evaluate` rule's `when`: the window's metrics by rule name (`f1`,
    /// `estimated_f1`), each an object with its `value`, and `reference`. Where it is set, any
    /// other name reads as `null` (a metric the window lacks), and `params`, `steps`, `run` and
    /// `trigger` are not there.
    public var window: [String: JSONValue]?

    public init(
        params: [String: JSONValue] = [:], steps: [String: StepResult] = [:], run: [String: JSONValue] = [:],
        trigger: [String: JSONValue] = [:], upstreamFailed: Bool = false, cancelled: Bool = false
    ) {
        self.params = params
        self.steps = steps
        self.run = run
        self.trigger = trigger
        self.upstreamFailed = upstreamFailed
        self.cancelled = cancelled
    }

    /// The context of an `evaluate` rule's `when` over one window's metrics.
    public init(window: [String: JSONValue]) {
        self.init()
        self.window = window
    }
}

/// Evaluates expressions against an ``ExpressionContext``. Missing paths read as `null`.
public struct ExpressionEvaluator: Sendable {
    public let context: ExpressionContext

    public init(context: ExpressionContext) {
        self.context = context
    }

    /// Whether an `if:` condition holds, with GitHub Actions' implicit `success() &&`.
    public func condition(_ expression: Expression) throws(ExpressionError) -> Bool {
        if !expression.usesStatusFunction && (context.upstreamFailed || context.cancelled) { return false }
        return try evaluate(expression).isTruthy
    }

    public func evaluate(_ expression: Expression) throws(ExpressionError) -> JSONValue {
        switch expression {
        case let .literal(value, _):
            return value
        case let .list(items, _):
            var values: [JSONValue] = []
            for item in items { values.append(try evaluate(item)) }
            return .array(values)
        case let .not(inner, _):
            return .bool(!(try evaluate(inner).isTruthy))
        case let .path(root, components, at):
            var value = try rootValue(root, at: at)
            for component in components {
                switch component {
                case let .name(name): value = value[name] ?? .null
                case let .index(index):
                    switch (value, try evaluate(index)) {
                    case let (.array(items), .number(number)):
                        let position = NumberText.exactInt(number)
                        value = position.flatMap { items.indices.contains($0) ? items[$0] : nil } ?? .null
                    case let (.object(object), .string(key)): value = object[key] ?? .null
                    default: value = .null
                    }
                }
            }
            return value
        case let .call(function, arguments, at):
            var values: [JSONValue] = []
            for argument in arguments {
                if function.takesMetricName, case let .path(name, components, _) = argument, components.isEmpty {
                    values.append(.string(name))
                } else {
                    values.append(try evaluate(argument))
                }
            }
            return try call(function, values, at: at)
        case let .binary(op, lhs, rhs, at):
            switch op {
            case .and:
                let left = try evaluate(lhs)
                return left.isTruthy ? try evaluate(rhs) : left
            case .or:
                let left = try evaluate(lhs)
                return left.isTruthy ? left : try evaluate(rhs)
            default:
                return try compare(op, try evaluate(lhs), try evaluate(rhs), at: at)
            }
        }
    }

    private func rootValue(_ root: String, at: Int) throws(ExpressionError) -> JSONValue {
        if let window = context.window { return window[root] ?? .null }
        switch root {
        case "params": return .object(context.params)
        case "run": return .object(context.run)
        case "trigger": return .object(context.trigger)
        case "steps":
            return .object(context.steps.mapValues { .object(["state": .string($0.state), "outputs": .object($0.outputs)]) })
        default:
            throw ExpressionError(offset: at, message: "unknown name '\(root)'")
        }
    }

    private func compare(_ op: Expression.BinaryOperator, _ lhs: JSONValue, _ rhs: JSONValue, at: Int) throws(ExpressionError) -> JSONValue {
        // A measured value (an object with a numeric `value`, as a window's metric) compares as its value.
        func measured(_ value: JSONValue) -> JSONValue {
            if case let .object(fields) = value, let inner = fields["value"], case .number = inner { return inner }
            return value
        }
        let (lhs, rhs) = (measured(lhs), measured(rhs))
        switch op {
        case .equal: return .bool(lhs == rhs)
        case .notEqual: return .bool(lhs != rhs)
        case .in:
            switch rhs {
            case let .array(items): return .bool(items.contains(lhs))
            case let .string(text): return .bool(lhs.stringValue.map(text.contains) ?? false)
            case let .object(object): return .bool(lhs.stringValue.map { object[$0] != nil } ?? false)
            default: return .bool(false)
            }
        default:
            let ordered: Bool? = switch (lhs, rhs) {
            case let (.number(a), .number(b)): op == .less ? a < b : op == .lessOrEqual ? a <= b : op == .greater ? a > b : a >= b
            case let (.string(a), .string(b)): op == .less ? a < b : op == .lessOrEqual ? a <= b : op == .greater ? a > b : a >= b
            default: nil
            }
            guard let ordered else {
                if lhs == .null || rhs == .null { return .bool(false) }
                throw ExpressionError(offset: at, message: "cannot compare \(lhs.typeName) with \(rhs.typeName) using '\(op.rawValue)'")
            }
            return .bool(ordered)
        }
    }

    private func call(_ function: ExpressionFunction, _ arguments: [JSONValue], at: Int) throws(ExpressionError) -> JSONValue {
        switch function {
        case .always: return .bool(true)
        case .success: return .bool(!context.upstreamFailed && !context.cancelled)
        case .failure: return .bool(context.upstreamFailed)
        case .cancelled: return .bool(context.cancelled)
        case .len:
            switch arguments[0] {
            case let .string(text): return .number(Double(text.count))
            case let .array(items): return .number(Double(items.count))
            case let .object(object): return .number(Double(object.count))
            case .null: return .number(0)
            default: throw ExpressionError(offset: at, message: "len() needs a string, list or object, found \(arguments[0].typeName)")
            }
        case .toJSON:
            return .string(String(decoding: (try? JSONEncoder.sorted.encode(arguments[0])) ?? Data(), as: UTF8.self))
        case .contains:
            switch arguments[0] {
            case let .array(items): return .bool(items.contains(arguments[1]))
            case let .string(text): return .bool(text.localizedCaseInsensitiveContains(arguments[1].description))
            default: return .bool(false)
            }
        case .drop, .estimatedDrop:
            guard let name = arguments[0].stringValue else {
                throw ExpressionError(offset: at, message: "\(function.rawValue)() needs a metric's name, such as \(function.rawValue)(f1)")
            }
            return context.window?[(function == .estimatedDrop ? "estimated_" : "") + name]?["drop"] ?? .null
        case .startsWith, .endsWith:
            guard case let .string(text) = arguments[0] else { return .bool(false) }
            let affix = arguments[1].description.lowercased()
            return .bool(function == .startsWith ? text.lowercased().hasPrefix(affix) : text.lowercased().hasSuffix(affix))
        }
    }
}
