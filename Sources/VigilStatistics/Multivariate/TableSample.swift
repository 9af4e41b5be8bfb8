import Foundation

/// Rows of a table drawn for the multivariate tests: named columns, numeric or categorical, at
/// most a given number of rows, chosen by a seed. It is `Codable`, so a fixed reference's sample is
/// stored once and reused.
public struct TableSample: Sendable, Codable, Equatable {
    /// One column's drawn values.
    public enum Column: Sendable, Codable, Equatable {
        /// Numbers; `nil` is missing.
        case numeric([Double?])
        /// Categories; `nil` is missing.
        case categorical([String?])

        var count: Int {
            switch self {
            case let .numeric(values): values.count
            case let .categorical(values): values.count
            }
        }
    }

    public let names: [String]
    public let columns: [Column]
    /// The seed the rows were drawn with.
    public let seed: UInt64

    public var rowCount: Int { columns.first?.count ?? 0 }

    /// Draws at most `limit` rows of `columns` (all of them when there are no more), the same
    /// rows of every column, as ``EmbeddingSample/subsample(maximum:seed:)`` draws them, kept in
    /// their original order.
    public init(columns: [(name: String, values: ColumnValues)], limit: Int, seed: UInt64) {
        let count = columns.first?.values.count ?? 0
        let chosen = count > limit && limit > 0 ? EmbeddingSample.draw(limit, of: count, seed: seed).sorted() : Array(0..<count)
        names = columns.map(\.name)
        self.columns = columns.map { column in
            switch column.values {
            case let .numeric(values): .numeric(chosen.map { values[$0].isNaN ? nil : values[$0] })
            case let .categorical(values): .categorical(chosen.map { values[$0] })
            }
        }
        self.seed = seed
    }

    /// The columns as numbers for a test against `reference`, in `reference`'s column order: a
    /// number as it is (missing: the reference's mean), a category as its share of the
    /// reference's rows (missing and unseen: 0), as NannyML encodes categories for its
    /// multivariate methods. A column `self` lacks is all missing.
    public func encoded(against reference: TableSample) -> [[Double]] {
        reference.names.enumerated().map { position, name in
            let own = names.firstIndex(of: name).map { columns[$0] }
            switch reference.columns[position] {
            case let .numeric(base):
                let present = base.compactMap { $0 }
                let mean = present.isEmpty ? 0 : present.reduce(0, +) / Double(present.count)
                guard case let .numeric(values)? = own else { return Array(repeating: mean, count: rowCount) }
                return values.map { $0 ?? mean }
            case let .categorical(base):
                var shares: [String: Double] = [:]
                for value in base { if let value { shares[value, default: 0] += 1 / Double(base.count) } }
                guard case let .categorical(values)? = own else { return Array(repeating: 0, count: rowCount) }
                return values.map { $0.flatMap { shares[$0] } ?? 0 }
            }
        }
    }
}
