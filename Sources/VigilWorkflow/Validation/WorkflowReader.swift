/// Turns a workflow file's YAML tree into a ``WorkflowSpec``, reporting every structural problem.
struct WorkflowReader {
    var reader = NodeReader()
    var sources: [String: StepSource] = [:]
    /// Template strings outside steps (the concurrency key), checked later with the expressions.
    var concurrencyKey: YAMLNode.Scalar?

    static let topLevelKeys = ["name", "description", "model", "sensitive", "schedule", "triggers", "concurrency", "defaults", "params", "data", "steps"]
    static let stepKeys = ["uses", "needs", "if", "with", "retry", "timeout", "on_failure", "approval", "description"]

    mutating func read(_ root: YAMLNode, file: String) -> WorkflowSpec? {
        guard let top = reader.mapping(root, in: "the workflow", allowed: Self.topLevelKeys) else { return nil }
        var name = ""
        if let entry = top["name"] {
            name = reader.string(entry.value, "name") ?? ""
            if !name.isEmpty && !Self.isIdentifier(name) {
                reader.report(entry.value.location, "name '\(name)' may use only letters, digits, '-' and '_', and must start with a letter")
            }
        } else {
            reader.report(root.location, "the workflow has no 'name'")
        }
        let model = top["model"].flatMap { reader.string($0.value, "model") }
        var spec = WorkflowSpec(
            name: name,
            description: top["description"].flatMap { reader.string($0.value, "description") },
            model: model,
            schedule: top["schedule"].flatMap { readSchedule($0.value) },
            triggers: top["triggers"].map { readTriggers($0.value) } ?? [],
            concurrency: top["concurrency"].flatMap { readConcurrency($0.value, model: model) },
            defaults: top["defaults"].map { readDefaults($0.value) } ?? StepDefaults(),
            parameters: top["params"].map { readParameters($0.value) } ?? [],
            data: top["data"].flatMap { readData($0.value) },
            steps: []
        )
        spec.sensitive = top["sensitive"].flatMap { reader.boolean($0.value, "sensitive") }
        if let entry = top["steps"] {
            spec.steps = readSteps(entry.value)
        } else {
            reader.report(root.location, "the workflow has no 'steps'")
        }
        return spec
    }

    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.first, first.isLetter, first.isASCII else { return false }
        return text.allSatisfy { ($0.isLetter || $0.isNumber) && $0.isASCII || $0 == "-" || $0 == "_" }
    }

    private mutating func readSteps(_ node: YAMLNode) -> [StepSpec] {
        guard case let .mapping(entries, location) = node else {
            reader.report(node.location, "steps must be a mapping of step names to steps, found \(node.kindDescription)")
            return []
        }
        if entries.isEmpty { reader.report(location, "steps is empty; a workflow needs at least one step") }
        var steps: [StepSpec] = []
        for entry in entries {
            if !Self.isIdentifier(entry.key) {
                reader.report(entry.keyLocation, "step name '\(entry.key)' may use only letters, digits, '-' and '_', and must start with a letter")
            }
            if let step = readStep(entry) { steps.append(step) }
        }
        return steps
    }

    private mutating func readStep(_ entry: YAMLNode.Entry) -> StepSpec? {
        let context = "step '\(entry.key)'"
        var source = StepSource(nameLocation: entry.keyLocation)
        defer { sources[entry.key] = source }
        guard let fields = reader.mapping(entry.value, in: context, allowed: Self.stepKeys) else { return nil }
        var uses = ""
        if let field = fields["uses"] {
            uses = reader.string(field.value, "\(context): uses") ?? ""
            source.usesLocation = field.value.location
        } else {
            reader.report(entry.keyLocation, "\(context) has no 'uses' (the step type)")
        }
        if let field = fields["needs"] {
            source.needs = reader.strings(field.value, "\(context): needs").map { (name: $0.0, location: $0.1) }
        }
        if let field = fields["if"] {
            switch field.value {
            case let .scalar(scalar) where !scalar.isNull: source.condition = scalar
            default: reader.report(field.value.location, "\(context): if must be an expression, found \(field.value.kindDescription)")
            }
        }
        var with: [String: JSONValue] = [:]
        if let field = fields["with"] {
            if case let .mapping(entries, location) = field.value {
                source.with = entries
                source.withLocation = location
                with = Dictionary(entries.map { ($0.key, NodeReader.json($0.value)) }) { first, _ in first }
            } else if !field.value.isNull {
                reader.report(field.value.location, "\(context): with must be a mapping of parameters, found \(field.value.kindDescription)")
            }
        }
        var approval: ApprovalGate?
        if let field = fields["approval"],
           let gate = reader.mapping(field.value, in: "\(context): approval", allowed: ["roles", "timeout", "quorum", "allow_self_approval", "on_timeout"]) {
            source.approvalRoles = gate["roles"].map { reader.strings($0.value, "\(context): approval roles").map { (name: $0.0, location: $0.1) } } ?? []
            if source.approvalRoles.isEmpty {
                reader.report(field.value.location, "\(context): approval needs at least one role (\(ApprovalGate.knownRoles.joined(separator: ", ")))")
            }
            approval = ApprovalGate(
                roles: source.approvalRoles.map(\.name),
                timeout: gate["timeout"].flatMap { reader.duration($0.value, "\(context): approval timeout") },
                quorum: gate["quorum"].flatMap { reader.integer($0.value, "\(context): approval quorum", minimum: 1) } ?? 1,
                allowSelfApproval: gate["allow_self_approval"].flatMap { reader.boolean($0.value, "\(context): approval allow_self_approval") } ?? false,
                onTimeout: gate["on_timeout"].flatMap { reader.choice($0.value, "\(context): approval on_timeout", as: ApprovalGate.TimeoutAction.self) } ?? .reject
            )
        }
        return StepSpec(
            name: entry.key, uses: uses, needs: source.needs.map(\.name), condition: source.condition?.text, with: with,
            retry: fields["retry"].flatMap { readRetry($0.value, context: context) },
            timeout: fields["timeout"].flatMap { reader.duration($0.value, "\(context): timeout") },
            onFailure: fields["on_failure"].flatMap { reader.choice($0.value, "\(context): on_failure", as: StepSpec.FailurePolicy.self) } ?? .fail,
            approval: approval, location: entry.keyLocation
        )
    }

    mutating func readRetry(_ node: YAMLNode, context: String) -> RetryPolicy? {
        if case let .scalar(scalar) = node, !scalar.isQuoted, Int(scalar.text) != nil {
            return reader.integer(node, "\(context): retry", minimum: 1).map { RetryPolicy(maximumAttempts: $0) }
        }
        guard let fields = reader.mapping(node, in: "\(context): retry", allowed: ["max_attempts", "backoff"]) else { return nil }
        var policy = RetryPolicy()
        if let field = fields["max_attempts"] {
            policy.maximumAttempts = reader.integer(field.value, "\(context): retry max_attempts", minimum: 1) ?? 1
        }
        if let field = fields["backoff"], let backoff = reader.mapping(field.value, in: "\(context): retry backoff", allowed: ["initial", "max", "multiplier"]) {
            if let initial = backoff["initial"].flatMap({ reader.duration($0.value, "\(context): backoff initial") }) { policy.initialDelay = initial }
            if let maximum = backoff["max"].flatMap({ reader.duration($0.value, "\(context): backoff max") }) { policy.maximumDelay = maximum }
            if let multiplier = backoff["multiplier"].flatMap({ reader.number($0.value, "\(context): backoff multiplier") }) {
                if multiplier < 1 { reader.report(backoff["multiplier"]!.value.location, "\(context): backoff multiplier must be at least 1") }
                policy.multiplier = multiplier
            }
            if policy.initialDelay > policy.maximumDelay {
                reader.report(field.value.location, "\(context): backoff initial (\(policy.initialDelay)) is longer than max (\(policy.maximumDelay))")
            }
        }
        return policy
    }
}
