import Foundation

/// A length of time written as in workflow files: `500ms`, `30s`, `5m`, `2h`, `1d`, or `1h30m`.
///
/// A parsed duration lies between 0 and ``maximum`` (100 years), so anything derived from it — a
/// deadline, milliseconds as `Int64`, a date — stays in range whatever the text said.
public struct WorkflowDuration: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let seconds: Double

    /// The longest duration Vigil accepts anywhere: 100 years (36,500 days).
    public static let maximum = WorkflowDuration(seconds: 36_500 * 86_400)

    public init(seconds: Double) {
        self.seconds = seconds
    }

    /// Parses `text`; `nil` when it is not a duration or is longer than ``maximum``.
    public init?(_ text: String) {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3_600), ("d", 86_400), ("w", 604_800)]
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard !digits.isEmpty, digits.count <= 20, let value = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let (unit, scale) = units.first(where: { rest.hasPrefix($0.0) && !(($0.0 == "m") && rest.hasPrefix("ms")) }) else {
                return nil
            }
            rest = rest.dropFirst(unit.count)
            total += value * scale
            guard total.isFinite, total <= Self.maximum.seconds else { return nil }
        }
        seconds = total
    }

    public var duration: Duration { .milliseconds(Int64((seconds * 1_000).rounded())) }

    public var description: String {
        if seconds >= 86_400, seconds.truncatingRemainder(dividingBy: 86_400) == 0 { return "\(Int(seconds / 86_400))d" }
        if seconds >= 3_600, seconds.truncatingRemainder(dividingBy: 3_600) == 0 { return "\(Int(seconds / 3_600))h" }
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
        if seconds == seconds.rounded() { return "\(Int(seconds))s" }
        return "\(Int((seconds * 1_000).rounded()))ms"
    }

    public static func < (lhs: WorkflowDuration, rhs: WorkflowDuration) -> Bool { lhs.seconds < rhs.seconds }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = WorkflowDuration(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a duration of at most 36500d: \(text)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
