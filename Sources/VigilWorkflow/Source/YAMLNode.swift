/// A YAML value with its position, as the workflow reader sees it: scalars, sequences, and
/// mappings with string keys in file order.
public indirect enum YAMLNode: Sendable {
    case scalar(Scalar)
    case sequence([YAMLNode], SourceLocation)
    case mapping([Entry], SourceLocation)

    public struct Scalar: Sendable {
        public let text: String
        /// Whether the scalar was quoted (`'…'`, `"…"`) or a block literal, so `true` or `1` stay text.
        public let isQuoted: Bool
        /// Whether it is the YAML null (`~`, `null`, or nothing).
        public let isNull: Bool
        public let location: SourceLocation
    }

    public struct Entry: Sendable {
        public let key: String
        public let keyLocation: SourceLocation
        public let value: YAMLNode
    }

    public var location: SourceLocation {
        switch self {
        case let .scalar(scalar): scalar.location
        case let .sequence(_, location), let .mapping(_, location): location
        }
    }

    /// What kind of value this is, for messages: "a mapping", "a list", "text".
    public var kindDescription: String {
        switch self {
        case let .scalar(scalar): scalar.isNull ? "null" : "'\(scalar.text.prefix(40))'"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }

    public var isNull: Bool {
        if case let .scalar(scalar) = self { return scalar.isNull }
        return false
    }

    /// The value under `key`, when this is a mapping that has it.
    public subscript(key: String) -> YAMLNode? {
        guard case let .mapping(entries, _) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }
}
