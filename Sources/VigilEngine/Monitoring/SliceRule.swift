import Foundation
import VigilStatistics
import VigilStore
import VigilWorkflow

/// A slicing expression from a workflow's `data.slices`: a feature (`region`, one slice per
/// value) or a comparison of a feature with a literal (`plan = 'team'`, slices `true` and `false`).
///
/// Evaluated in Swift on the fetched rows, never as SQL.
struct SliceRule: Sendable, Equatable {
    enum Comparison: String, Sendable, CaseIterable {
        case equal = "=", notEqual = "!=", lessOrEqual = "<=", greaterOrEqual = ">=", less = "<", greater = ">"
    }

    /// The text as written, which is the slice key.
    let expression: String
    let column: String
    let comparison: (Comparison, Literal)?

    enum Literal: Sendable, Equatable {
        case text(String)
        case number(Double)
    }

    /// Most slice values kept per key (the most frequent); the rest are left out of per-slice metrics.
    static let maximumValues = 50

    static func == (lhs: SliceRule, rhs: SliceRule) -> Bool { lhs.expression == rhs.expression }

    init(_ expression: String, features: [ColumnSchema]) throws(MonitorError) {
        self.expression = expression
        let trimmed = expression.trimmingCharacters(in: .whitespaces)
        let names = Set(features.map(\.name))
        if names.contains(trimmed) {
            column = trimmed
            comparison = nil
            return
        }
        for candidate in [Comparison.notEqual, .lessOrEqual, .greaterOrEqual, .equal, .less, .greater] {
            guard let range = trimmed.range(of: candidate.rawValue) else { continue }
            let left = trimmed[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            let right = trimmed[range.upperBound...].trimmingCharacters(in: .whitespaces)
            guard names.contains(left) else { break }
            let literal: Literal
            if right.count >= 2, right.hasPrefix("'"), right.hasSuffix("'") {
                literal = .text(String(right.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'"))
            } else if let number = Double(right) {
                literal = .number(number)
            } else {
                throw MonitorError("slice '\(expression)': the right side must be a 'quoted text' or a number")
            }
            column = left
            comparison = (candidate, literal)
            return
        }
        throw MonitorError("slice '\(expression)' is neither a declared feature nor `feature = 'value'` (with =, !=, <, <=, >, >=)")
    }

    /// Each row's slice value (a missing row is left out of this rule's slices).
    func values(_ column: ColumnValues) -> CategoryColumn {
        switch column {
        case let .numeric(numbers):
            return CategoryColumn(numbers.lazy.map { number in
                guard !number.isNaN else { return nil }
                guard let (comparison, literal) = comparison else { return NumberText.format(number) }
                switch literal {
                case let .number(bound): return String(Self.holds(comparison, number, bound))
                case let .text(text): return String(Self.holds(comparison, NumberText.format(number), text))
                }
            })
        case let .categorical(texts):
            guard let (comparison, literal) = comparison else { return texts }
            return texts.mappingCategories { text in
                switch literal {
                case let .number(bound): Double(text).map { String(Self.holds(comparison, $0, bound)) }
                case let .text(expected): String(Self.holds(comparison, text, expected))
                }
            }
        }
    }

    private static func holds<Value: Comparable>(_ comparison: Comparison, _ left: Value, _ right: Value) -> Bool {
        switch comparison {
        case .equal: left == right
        case .notEqual: left != right
        case .less: left < right
        case .lessOrEqual: left <= right
        case .greater: left > right
        case .greaterOrEqual: left >= right
        }
    }
}

/// A monitoring problem a person must fix (bad slice, unusable baseline), in one line.
public struct MonitorError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
