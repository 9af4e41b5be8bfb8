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
    /// The drawn rows' labels, when they were drawn with them (`nil` in a row without one).
    public let labels: [String?]?

    public var rowCount: Int { columns.first?.count ?? 0 }

    /// Draws at most `limit` rows of `columns` (all of them when there are no more), the same
    /// rows of every column, as ``EmbeddingSample/subsample(maximum:seed:)`` draws them, kept in
    /// their original order.
    /// `labels`, one per row of `columns` when given, are drawn with them.
    public init(columns: [(name: String, values: ColumnValues)], limit: Int, seed: UInt64, labels: CategoryColumn? = nil) {
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
        self.labels = labels.flatMap { labels in labels.count == count ? chosen.map { labels[$0] } : nil }
    }

    /// The same rows with only the columns named in `names` (in that order; a name it lacks is left out).
    public func selecting(_ names: [String]) -> TableSample {
        let kept = names.compactMap { name in self.names.firstIndex(of: name).map { (name, columns[$0]) } }
        return TableSample(names: kept.map(\.0), columns: kept.map(\.1), seed: seed, labels: labels)
    }

    private init(names: [String], columns: [Column], seed: UInt64, labels: [String?]?) {
        self.names = names
        self.columns = columns
        self.seed = seed
        self.labels = labels
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
