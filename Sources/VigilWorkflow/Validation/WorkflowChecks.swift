/// The checks that need the whole workflow: step types and their parameters, `needs`, cycles,
/// and every expression's references.
struct WorkflowChecks {
    let spec: WorkflowSpec
    let sources: [String: StepSource]
    let catalog: StepCatalog
    var reader: NodeReader

    static let runFields = ["id", "attempt", "workflow", "version", "started_at", "scheduled_for", "model"]
    static let triggerFields = ["kind", "name", "labels", "fingerprint", "payload", "actor"]
    static let roots = ["params", "steps", "run", "trigger"]

    mutating func run(concurrencyKey: YAMLNode.Scalar?) -> [Diagnostic] {
        let names = spec.steps.map(\.name)
        for step in spec.steps {
            guard let source = sources[step.name] else { continue }
            let schema = checkType(step, source)
            for need in source.needs {
                if need.name == step.name {
                    reader.report(need.location, "step '\(step.name)' cannot need itself")
                } else if !names.contains(need.name) {
                    reader.report(need.location, "step '\(step.name)' needs unknown step '\(need.name)'\(Suggestion.hint(for: need.name, in: names))")
                }
            }
            for role in source.approvalRoles where !ApprovalGate.knownRoles.contains(role.name) {
                reader.report(role.location, "unknown role '\(role.name)'; use one of \(ApprovalGate.knownRoles.joined(separator: ", "))\(Suggestion.hint(for: role.name, in: ApprovalGate.knownRoles))")
            }
            if let schema { checkParameters(step, source, schema) }
        }
        let cycleFound = checkCycles()
        if !cycleFound {
            for step in spec.steps {
                guard let source = sources[step.name] else { continue }
                let upstream = ancestors(of: step.name)
                if let condition = source.condition {
                    checkExpressionSource(condition, asTemplate: false, upstream: upstream, in: "step '\(step.name)': if")
                }
                for entry in source.with {
                    checkTemplates(in: entry.value, upstream: upstream, context: "step '\(step.name)': with.\(entry.key)")
                }
            }
        }
        if let concurrencyKey {
            checkExpressionSource(concurrencyKey, asTemplate: true, upstream: [], in: "concurrency key", allowedRoots: ["params", "trigger"])
        }
        return reader.diagnostics
    }

    private mutating func checkType(_ step: StepSpec, _ source: StepSource) -> StepSchema? {
        guard !step.uses.isEmpty, let location = source.usesLocation else { return nil }
        if let schema = catalog[step.uses] { return schema }
        let types = catalog.schemas.keys.sorted()
        reader.report(location, "unknown step type '\(step.uses)'\(Suggestion.hint(for: step.uses, in: types)) (known: \(types.joined(separator: ", ")))")
        return nil
    }

    private mutating func checkParameters(_ step: StepSpec, _ source: StepSource, _ schema: StepSchema) {
        let context = "step '\(step.name)' (\(schema.typeName))"
        let declared = schema.parameters.map(\.name)
        for entry in source.with {
            guard let parameter = schema.parameter(entry.key) else {
                if !schema.allowsExtraParameters {
                    reader.report(entry.keyLocation, "\(context) has no parameter '\(entry.key)'\(Suggestion.hint(for: entry.key, in: declared))")
                }
                continue
            }
            // A value computed by an expression is checked when it can be typed, at run time otherwise.
            if case let .scalar(scalar) = entry.value, scalar.text.contains("${{") {
                if let template = try? Template(scalar.text), template.isSingleExpression,
                   let (expression, _) = template.expressions.first, let type = staticType(of: expression),
                   parameter.type != .any, type != parameter.type, !(type == .integer && parameter.type == .number) {
                    reader.report(entry.value.location, "\(context): \(entry.key) must be \(ParameterCheck.article(parameter.type)), but the expression gives \(ParameterCheck.article(type))")
                }
                continue
            }
            let value = NodeReader.json(entry.value)
            if let problem = ParameterCheck.problem(with: value, type: parameter.type, allowed: parameter.allowed, minimum: parameter.minimum, maximum: parameter.maximum) {
                reader.report(entry.value.location, "\(context): \(entry.key) \(problem)")
            }
        }
        for parameter in schema.parameters where parameter.required && step.with[parameter.name] == nil {
            reader.report(source.withLocation ?? source.nameLocation, "\(context) needs parameter '\(parameter.name)' under with:")
        }
    }

    /// The type of a step output an expression names directly, when it is known.
    private func staticType(of expression: Expression) -> ParameterType? {
        guard case let .path(root, components, _) = expression else { return nil }
        let names = components.compactMap { if case let .name(name) = $0 { name } else { nil } }
        switch root {
        case "steps" where names.count == 3 && names[1] == "outputs":
            guard let step = spec.step(named: names[0]), let schema = catalog[step.uses] else { return nil }
            return schema.output(names[2])?.type
        case "params" where names.count == 1:
            return spec.parameters.first { $0.name == names[0] }?.type
        default:
            return nil
        }
    }

    /// Reports the first cycle in `needs`, as the path that closes it. Returns whether one was found.
    private mutating func checkCycles() -> Bool {
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        var path: [String] = []
        let byName = Dictionary(spec.steps.map { ($0.name, $0) }) { first, _ in first }
        func visit(_ name: String) -> [String]? {
            if state[name] == 2 { return nil }
            if state[name] == 1 { return Array(path[path.firstIndex(of: name)!...]) + [name] }
            state[name] = 1
            path.append(name)
            for need in byName[name]?.needs ?? [] where byName[need] != nil && need != name {
                if let cycle = visit(need) { return cycle }
            }
            path.removeLast()
            state[name] = 2
            return nil
        }
        for step in spec.steps {
            if let cycle = visit(step.name) {
                let closing = cycle[cycle.count - 2]
                let location = sources[closing]?.needs.first { $0.name == cycle.last }?.location ?? step.location
                reader.report(location, "steps form a cycle: \(cycle.reversed().joined(separator: " → "))")
                return true
            }
        }
        return false
    }

    /// Every step `name` transitively needs.
    private func ancestors(of name: String) -> Set<String> {
        var seen = Set<String>()
        var stack = spec.step(named: name)?.needs ?? []
        while let next = stack.popLast() {
            guard seen.insert(next).inserted else { continue }
            stack += spec.step(named: next)?.needs ?? []
        }
        return seen
    }

    private mutating func checkTemplates(in node: YAMLNode, upstream: Set<String>, context: String) {
        switch node {
        case let .scalar(scalar) where scalar.text.contains("${{"):
            checkExpressionSource(scalar, asTemplate: true, upstream: upstream, in: context)
        case let .sequence(items, _):
            for item in items { checkTemplates(in: item, upstream: upstream, context: context) }
        case let .mapping(entries, _):
            for entry in entries { checkTemplates(in: entry.value, upstream: upstream, context: "\(context).\(entry.key)") }
        default:
            break
        }
    }

    private mutating func checkExpressionSource(
        _ scalar: YAMLNode.Scalar, asTemplate: Bool, upstream: Set<String>, in context: String, allowedRoots: [String] = roots
    ) {
        var expressions: [(Expression, Int)] = []
        do {
            if asTemplate {
                expressions = try Template(scalar.text).expressions.map { ($0.0, $0.offset) }
            } else {
                // GitHub-style conditions may also be wrapped in ${{ }}.
                let trimmed = scalar.text.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("${{") && trimmed.hasSuffix("}}") {
                    expressions = try Template(scalar.text).expressions.map { ($0.0, $0.offset) }
                } else {
                    expressions = [(try ExpressionParser.parse(scalar.text), 0)]
                }
            }
        } catch {
            reader.report(scalar.location(ofCharacter: error.offset), "\(context): \(error.message)")
            return
        }
        for (expression, base) in expressions {
            for path in expression.paths {
                if let problem = problem(with: path, upstream: upstream, allowedRoots: allowedRoots) {
                    reader.report(scalar.location(ofCharacter: base + path.offset), "\(context): \(problem)")
                }
            }
        }
    }

    /// What is wrong with a path an expression reads, or `nil`.
    private func problem(with path: PathReference, upstream: Set<String>, allowedRoots: [String]) -> String? {
        guard allowedRoots.contains(path.root) else {
            if Self.roots.contains(path.root) { return "'\(path.root)' cannot be used here (only \(allowedRoots.joined(separator: ", ")))" }
            return "unknown name '\(path.root)'\(Suggestion.hint(for: path.root, in: allowedRoots)) (expressions read \(allowedRoots.joined(separator: ", ")))"
        }
        let names = path.names
        switch path.root {
        case "params":
            guard let name = names.first else { return nil }
            let declared = spec.parameters.map(\.name)
            if declared.contains(name) { return nil }
            return "unknown parameter '\(name)'" + (declared.isEmpty ? " (the workflow declares no params)" : Suggestion.hint(for: name, in: declared))
        case "run":
            guard let name = names.first else { return nil }
            return Self.runFields.contains(name) ? nil : "run has no field '\(name)'\(Suggestion.hint(for: name, in: Self.runFields))"
        case "trigger":
            guard let name = names.first else { return nil }
            return Self.triggerFields.contains(name) ? nil : "trigger has no field '\(name)'\(Suggestion.hint(for: name, in: Self.triggerFields))"
        default:
            guard let stepName = names.first else { return "name a step: steps.<name>.outputs.<output>" }
            guard let step = spec.step(named: stepName) else {
                return "unknown step '\(stepName)'\(Suggestion.hint(for: stepName, in: spec.steps.map(\.name)))"
            }
            guard upstream.contains(stepName) else {
                return "step '\(stepName)' is not upstream of this step; add it to needs to read its outputs"
            }
            guard names.count > 1 else { return nil }
            switch names[1] {
            case "state": return nil
            case "outputs":
                guard names.count > 2, let schema = catalog[step.uses], !schema.hasDynamicOutputs else { return nil }
                let declared = schema.outputs.map(\.name)
                if declared.contains(names[2]) { return nil }
                return "step '\(stepName)' (\(step.uses)) has no output '\(names[2])'\(Suggestion.hint(for: names[2], in: declared)) (it outputs \(declared.joined(separator: ", ")))"
            default:
                return "steps.\(stepName) has no field '\(names[1])'; use outputs or state"
            }
        }
    }
}
