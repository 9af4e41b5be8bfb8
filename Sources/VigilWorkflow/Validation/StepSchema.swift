/// What a step type accepts under `with:` and what it outputs, so workflow files can be checked
/// before anything runs.
public struct StepSchema: Sendable, Hashable {
    /// One parameter under `with:`.
    public struct Parameter: Sendable, Hashable {
        public var name: String
        public var type: ParameterType
        public var required: Bool
        public var allowed: [JSONValue]?
        public var minimum: Double?
        public var maximum: Double?
        public var summary: String
        /// For a mapping: the keys it accepts, each with its own schema; any other key is an error.
        /// `nil` accepts any key (labels, environment variables, a service's own parameters).
        public var fields: [Parameter]?
        /// For a list: the schema every item must meet (a one-element array, so the type can nest).
        public var itemSchema: [Parameter]

        public init(
            _ name: String, _ type: ParameterType, required: Bool = false, allowed: [JSONValue]? = nil,
            minimum: Double? = nil, maximum: Double? = nil, summary: String = "",
            fields: [Parameter]? = nil, items: Parameter? = nil
        ) {
            self.name = name
            self.type = type
            self.required = required
            self.allowed = allowed
            self.minimum = minimum
            self.maximum = maximum
            self.summary = summary
            self.fields = fields
            self.itemSchema = items.map { [$0] } ?? []
        }

        /// What each item of a list must be, when that is declared.
        public var items: Parameter? { itemSchema.first }

        /// The field named `name`, when this is a mapping with declared fields.
        public func field(_ name: String) -> Parameter? { fields?.first { $0.name == name } }
    }

    /// One output, readable downstream as `steps.<name>.outputs.<output>`.
    public struct Output: Sendable, Hashable {
        public var name: String
        public var type: ParameterType
        public var summary: String

        public init(_ name: String, _ type: ParameterType, summary: String = "") {
            self.name = name
            self.type = type
            self.summary = summary
        }
    }

    public var typeName: String
    public var summary: String
    public var parameters: [Parameter]
    public var outputs: [Output]
    /// Whether the step accepts parameters it does not declare (a user's own step may).
    public var allowsExtraParameters: Bool
    /// Whether the outputs are only known at run time (a program's own JSON), so any name may be read.
    public var hasDynamicOutputs: Bool

    public init(
        typeName: String, summary: String, parameters: [Parameter] = [], outputs: [Output] = [],
        allowsExtraParameters: Bool = false, hasDynamicOutputs: Bool = false
    ) {
        self.typeName = typeName
        self.summary = summary
        self.parameters = parameters
        self.outputs = outputs
        self.allowsExtraParameters = allowsExtraParameters
        self.hasDynamicOutputs = hasDynamicOutputs
    }

    public func parameter(_ name: String) -> Parameter? { parameters.first { $0.name == name } }
    public func output(_ name: String) -> Output? { outputs.first { $0.name == name } }
}

/// The step types a validator knows, by type name.
public struct StepCatalog: Sendable {
    public private(set) var schemas: [String: StepSchema]

    public init(_ schemas: [StepSchema] = []) {
        self.schemas = Dictionary(schemas.map { ($0.typeName, $0) }) { first, _ in first }
    }

    /// Adds (or replaces) a step type, such as a library user's own.
    public mutating func register(_ schema: StepSchema) {
        schemas[schema.typeName] = schema
    }

    public subscript(typeName: String) -> StepSchema? { schemas[typeName] }
}
