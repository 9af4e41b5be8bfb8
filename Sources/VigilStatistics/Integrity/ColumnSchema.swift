/// What a column is declared to hold: its type, and optionally a range or a set of allowed values.
public struct ColumnSchema: Sendable, Codable, Hashable {
    /// The declared type of a column's values.
    public enum ValueType: String, Sendable, Codable, CaseIterable {
        /// A finite real number.
        case number
        /// A whole number.
        case integer
        /// `true`/`false` (also `1`/`0`).
        case boolean
        /// A label from a finite set.
        case category
        /// Free text.
        case string
        /// An array of `dimension` finite numbers (a text or image embedding), compared whole.
        case embedding
    }

    /// Most values an embedding may have.
    public static let maximumDimension = 8_192

    public var name: String
    public var type: ValueType
    /// Inclusive lower bound, for numbers and integers.
    public var minimum: Double?
    /// Inclusive upper bound, for numbers and integers.
    public var maximum: Double?
    /// The only values allowed, for categories and strings.
    public var allowed: [String]?
    /// Whether a missing value is an error rather than just counted.
    public var required: Bool
    /// How many numbers an embedding holds.
    public var dimension: Int?

    public init(
        name: String, type: ValueType, minimum: Double? = nil, maximum: Double? = nil,
        allowed: [String]? = nil, required: Bool = false, dimension: Int? = nil
    ) {
        self.name = name
        self.type = type
        self.dimension = dimension
        self.minimum = minimum
        self.maximum = maximum
        self.allowed = allowed
        self.required = required
    }

    /// Whether values of this type are compared as numbers by drift tests.
    public var isNumeric: Bool { type == .number || type == .integer }

    /// What is wrong with one raw value, or `nil` when it conforms. `nil` or empty text is missing.
    public func violation(of raw: String?) -> Violation? {
        guard let raw, !raw.isEmpty else { return required ? .missingRequired : nil }
        switch type {
        case .number, .integer:
            guard let number = Double(raw), number.isFinite else { return .typeMismatch }
            if type == .integer && number != number.rounded() { return .typeMismatch }
            if let minimum, number < minimum { return .outOfRange }
            if let maximum, number > maximum { return .outOfRange }
        case .boolean:
            guard Self.booleanValue(raw) != nil else { return .typeMismatch }
        case .category, .string:
            if let allowed, !allowed.contains(raw) { return .outOfDomain }
        case .embedding:
            guard let values = EmbeddingText.numbers(raw), values.count == dimension, values.allSatisfy({ $0?.isFinite == true }) else { return .typeMismatch }
        }
        return nil
    }

    /// `true`, `false`, `1`, `0` (any case) as a Boolean.
    public static func booleanValue(_ raw: String) -> Bool? {
        switch raw.lowercased() {
        case "true", "1", "t", "yes": true
        case "false", "0", "f", "no": false
        default: nil
        }
    }

    /// A way a value breaks its column's schema.
    public enum Violation: String, Sendable, Codable {
        case missingRequired = "missing required value"
        case typeMismatch = "type mismatch"
        case outOfRange = "out of range"
        case outOfDomain = "not an allowed value"
    }
}
