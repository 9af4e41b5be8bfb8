/// Data-integrity counts for one column over one window.
public struct ColumnIntegrity: Sendable, Codable, Equatable {
    public let column: String
    public let rows: Int
    public let missing: Int
    /// Values that do not parse as the declared type.
    public let typeMismatches: Int
    /// Numbers outside the declared range.
    public let outOfRange: Int
    /// Values outside the declared allowed set.
    public let outOfDomain: Int
    /// Categories never seen in the reference, with how often each occurred.
    public let unseenCategories: [String: Int]

    public var missingRate: Double { rows > 0 ? Double(missing) / Double(rows) : 0 }
    public var unseenCount: Int { unseenCategories.values.reduce(0, +) }

    /// Checks `values` (raw text, `nil` or empty for missing) against `schema`.
    ///
    /// - Parameter referenceCategories: the categories of the reference window; values of a
    ///   category column outside it are counted as unseen.
    public init(schema: ColumnSchema, values: [String?], referenceCategories: Set<String>? = nil) {
        var missing = 0, mismatches = 0, outOfRange = 0, outOfDomain = 0
        var unseen: [String: Int] = [:]
        for value in values {
            switch schema.violation(of: value) {
            case .missingRequired: missing += 1
            case .typeMismatch: mismatches += 1
            case .outOfRange: outOfRange += 1
            case .outOfDomain: outOfDomain += 1
            case nil:
                guard let value, !value.isEmpty else {
                    missing += 1
                    continue
                }
                if schema.type == .category, let referenceCategories, !referenceCategories.contains(value) {
                    unseen[value, default: 0] += 1
                }
            }
        }
        column = schema.name
        rows = values.count
        self.missing = missing
        typeMismatches = mismatches
        self.outOfRange = outOfRange
        self.outOfDomain = outOfDomain
        unseenCategories = unseen
    }
}

/// Columns that appeared or disappeared between the expected schema and the data.
public struct SchemaChange: Sendable, Codable, Equatable {
    /// Columns in the data that the schema does not declare.
    public let added: [String]
    /// Declared columns missing from the data.
    public let removed: [String]

    public init(expected: [String], actual: [String]) {
        let expectedSet = Set(expected), actualSet = Set(actual)
        added = actual.filter { !expectedSet.contains($0) }
        removed = expected.filter { !actualSet.contains($0) }
    }

    public var isEmpty: Bool { added.isEmpty && removed.isEmpty }
}
