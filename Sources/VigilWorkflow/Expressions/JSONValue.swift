import Foundation

/// A JSON value: what step parameters, step outputs and expressions work with.
public enum JSONValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(value): try container.encode(value)
        case let .number(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        }
    }

    /// Truthiness as in GitHub Actions expressions: false, 0, "", null are false.
    public var isTruthy: Bool {
        switch self {
        case .null: false
        case let .bool(value): value
        case let .number(value): value != 0 && !value.isNaN
        case let .string(value): !value.isEmpty
        case .array, .object: true
        }
    }

    /// The value's type name, for messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "list"
        case .object: "object"
        }
    }

    /// Text form used when a value is interpolated into a string.
    public var description: String {
        switch self {
        case .null: ""
        case let .bool(value): String(value)
        case let .number(value): NumberText.format(value)
        case let .string(value): value
        case .array, .object:
            (try? String(decoding: JSONEncoder.sorted.encode(self), as: UTF8.self)) ?? ""
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case let .object(object) = self { return object[key] }
        return nil
    }

    public var stringValue: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    public var numberValue: Double? {
        if case let .number(value) = self { return value }
        return nil
    }

    /// The value as a whole number, or `nil` when it is not a number, has a fraction, or lies
    /// beyond ±2⁵³ (where a `Double` no longer holds every whole number): never a trap.
    public var intValue: Int? {
        guard case let .number(value) = self else { return nil }
        return NumberText.exactInt(value)
    }
}

extension JSONEncoder {
    /// An encoder with sorted keys, so the same value always encodes to the same bytes.
    public static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
