/// The checks that need the whole workflow: step types and their parameters, `needs`, cycles,
/// and every expression's references.
struct WorkflowChecks {
    let spec: WorkflowSpec
    let sources: [String: StepSource]
    let catalog: StepCatalog
    var reader: NodeReader
    let index: StepIndex

    init(spec: WorkflowSpec, sources: [String: StepSource], catalog: StepCatalog, reader: NodeReader) {
        self.spec = spec
        self.sources = sources
        self.catalog = catalog
        self.reader = reader
        index = StepIndex(spec.steps)
    }

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
                } else if !index.contains(need.name) {
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
                let upstream = Upstream(index: index, step: step.name)
                if let condition = source.condition {
                    checkExpressionSource(condition, asTemplate: false, upstream: upstream, in: "step '\(step.name)': if")
                }
                for entry in source.with {
                    checkTemplates(in: entry.value, upstream: upstream, context: "step '\(step.name)': with.\(entry.key)")
                    if step.uses == "evaluate", ["soft", "hard"].contains(entry.key) {
                        checkRuleConditions(in: entry.value, context: "step '\(step.name)': with.\(entry.key).when")
                    }
                }
                if step.uses == "evaluate" { checkSliceSelector(source, context: "step '\(step.name)'") }
            }
        }
        if let concurrencyKey {
            checkExpressionSource(concurrencyKey, asTemplate: true, upstream: Upstream(index: index, step: nil), in: "concurrency key", allowedRoots: ["params", "trigger"])
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
            checkValue(entry.value, against: parameter, path: entry.key, context: context)
        }
        for parameter in schema.parameters where parameter.required && step.with[parameter.name] == nil {
            reader.report(source.withLocation ?? source.nameLocation, "\(context) needs parameter '\(parameter.name)' under with:")
        }
    }

    /// Checks a parameter's value, and inside mappings and lists, every key and item against the
    /// declared fields and items: an unknown key is reported at its own position, with a suggestion.
    private mutating func checkValue(_ node: YAMLNode, against parameter: StepSchema.Parameter, path: String, context: String) {
        // Computed at run time: only the top-level expression's type can be checked (above).
        if case let .scalar(scalar) = node, scalar.text.contains("${{") { return }
        let value = NodeReader.json(node)
        if let problem = ParameterCheck.problem(with: value, type: parameter.type, allowed: parameter.allowed, minimum: parameter.minimum, maximum: parameter.maximum) {
            reader.report(node.location, "\(context): \(path) \(problem)")
            return
        }
        switch node {
        case let .mapping(entries, location):
            guard let fields = parameter.fields else { return }
            let names = fields.map(\.name)
            for entry in entries {
                guard let field = parameter.field(entry.key) else {
                    reader.report(entry.keyLocation, "\(context): unknown key '\(entry.key)' in \(path)\(Suggestion.hint(for: entry.key, in: names)) (known: \(names.joined(separator: ", ")))")
                    continue
                }
                checkValue(entry.value, against: field, path: "\(path).\(entry.key)", context: context)
            }
            for field in fields where field.required && !entries.contains(where: { $0.key == field.name }) {
                reader.report(location, "\(context): \(path) needs key '\(field.name)'")
            }
        case let .sequence(items, _):
            guard let schema = parameter.items else { return }
            for (index, item) in items.enumerated() {
                checkValue(item, against: schema, path: "\(path)[\(index)]", context: context)
            }
        case .scalar:
            break
        }
    }

    /// The type of a step output an expression names directly, when it is known.
    private func staticType(of expression: Expression) -> ParameterType? {
        guard case let .path(root, components, _) = expression else { return nil }
        let names = components.compactMap { if case let .name(name) = $0 { name } else { nil } }
        switch root {
        case "steps" where names.count == 3 && names[1] == "outputs":
            guard let step = index[names[0]], let schema = catalog[step.uses] else { return nil }
            return schema.output(names[2])?.type
        case "params" where names.count == 1:
            return spec.parameters.first { $0.name == names[0] }?.type
        default:
            return nil
        }
    }

    /// Reports the first cycle in `needs`, as the path that closes it. Returns whether one was found.
    private mutating func checkCycles() -> Bool {
        guard let cycle = index.firstCycle() else { return false }
        let closing = cycle[cycle.count - 2]
        let location = sources[closing]?.needs.first { $0.name == cycle.last }?.location ?? index[closing]?.location ?? spec.steps[0].location
        reader.report(location, "steps form a cycle: \(cycle.reversed().joined(separator: " → "))")
        return true
    }

    /// The steps an expression of one step may read: those it needs, directly or through others.
    struct Upstream {
        let index: StepIndex
        /// The step whose expressions are checked; `nil` where no step is upstream.
        let step: String?

        func contains(_ name: String) -> Bool {
            guard let step else { return false }
            return index.isUpstream(name, of: step)
        }
    }

    private mutating func checkTemplates(in node: YAMLNode, upstream: Upstream, context: String) {
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

    /// The `when` conditions of one severity's rules: each parses, and reads only the window's
    /// metrics and `reference`.
    private mutating func checkRuleConditions(in rules: YAMLNode, context: String) {
        guard let conditions = rules["when"] else { return }
        let items: [YAMLNode] = if case let .sequence(items, _) = conditions { items } else { [conditions] }
        for item in items {
            switch item {
            case let .scalar(scalar):
                checkExpressionSource(scalar, asTemplate: false, upstream: Upstream(index: index, step: nil), in: context, allowedRoots: MetricNames.all + ["reference"])
            case let .mapping(fields, _):
                for field in fields where !["condition", "min_samples"].contains(field.key) {
                    reader.report(field.keyLocation, "\(context): a condition has no field '\(field.key)' (it has condition, min_samples)")
                }
                if case let .scalar(scalar)? = item["condition"] {
                    checkExpressionSource(scalar, asTemplate: false, upstream: Upstream(index: index, step: nil), in: context, allowedRoots: MetricNames.all + ["reference"])
                } else {
                    reader.report(item.location, "\(context): a condition needs `condition`, a string such as 'estimated_f1 < 0.85'")
                }
                if let samples = item["min_samples"], !(Self.integer(samples).map { $0 >= 1 } ?? false) {
                    reader.report(samples.location, "\(context): min_samples must be a whole number of at least 1")
                }
            default:
                reader.report(item.location, "\(context): a condition is a string such as 'estimated_f1 < 0.85', or { condition, min_samples }")
            }
        }
    }

    /// An evaluate step's `slice` or `for_each_slice`, when written as text, names a slicing
    /// expression the workflow's `data.slices` declares.
    private mutating func checkSliceSelector(_ source: StepSource, context: String) {
        func text(_ key: String) -> (String, SourceLocation)? {
            guard let entry = source.with.first(where: { $0.key == key }), case let .scalar(scalar) = entry.value,
                  !scalar.text.contains("${{") else { return nil }
            return (scalar.text, scalar.location)
        }
        let slice = text("slice"), each = text("for_each_slice")
        guard let location = slice?.1 ?? each?.1 else { return }
        do {
            _ = try SliceSelector(slice: slice?.0, forEachSlice: each?.0, declared: spec.data?.slices ?? [])
        } catch {
            reader.report(location, "\(context): \(error.description)")
        }
        // Rules that read the whole window or stream would never fire when judged per slice.
        for level in ["soft", "hard"] {
            guard let entry = source.with.first(where: { $0.key == level }), case let .mapping(rules, _) = entry.value else { continue }
            for rule in rules {
                guard let reads = Self.wholeWindowRules[rule.key] else { continue }
                reader.report(rule.keyLocation, "\(context): \(level).\(rule.key) \(reads), not per slice: give it an evaluate step without slice or for_each_slice")
            }
        }
    }

    /// Evaluate rules that judge only the whole window, with what they read.
    private static let wholeWindowRules = [
        "detector": "reads an online detector, which follows the model's whole stream",
    ]

    private static func integer(_ node: YAMLNode) -> Int? {
        guard case let .scalar(scalar) = node, !scalar.isQuoted else { return nil }
        return Int(scalar.text)
    }

    private mutating func checkExpressionSource(
        _ scalar: YAMLNode.Scalar, asTemplate: Bool, upstream: Upstream, in context: String, allowedRoots: [String] = roots
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
    private func problem(with path: PathReference, upstream: Upstream, allowedRoots: [String]) -> String? {
        guard allowedRoots.contains(path.root) else {
            if Self.roots.contains(path.root) { return "'\(path.root)' cannot be used here (only \(allowedRoots.joined(separator: ", ")))" }
            return "unknown name '\(path.root)'\(Suggestion.hint(for: path.root, in: allowedRoots)) (expressions read \(allowedRoots.joined(separator: ", ")))"
        }
        let names = path.names
        if MetricNames.all.contains(path.root) {
            guard let field = names.first else { return nil }
            return MetricNames.conditionFields.contains(field) && names.count == 1 ? nil
                : "a metric has no field '\(names.joined(separator: "."))'\(Suggestion.hint(for: field, in: MetricNames.conditionFields)) (it has \(MetricNames.conditionFields.joined(separator: ", ")))"
        }
        switch path.root {
        case "reference":
            guard let metric = names.first, MetricNames.all.contains(metric) else {
                return "name a metric: reference.<metric>, such as reference.roc_auc.lower" + (names.first.map { Suggestion.hint(for: $0, in: MetricNames.all) } ?? "")
            }
            guard names.count > 1 else { return nil }
            return MetricNames.referenceFields.contains(names[1]) && names.count == 2 ? nil
                : "reference.\(metric) has no field '\(names.dropFirst().joined(separator: "."))' (it has \(MetricNames.referenceFields.joined(separator: ", ")))"
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
            guard let step = index[stepName] else {
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
