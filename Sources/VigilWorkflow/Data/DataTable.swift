import VigilStatistics

/// A table read from a data file: named columns of numbers or text.
public struct DataTable: Sendable {
    /// One column's values. Missing values are NaN (numbers) or `nil` (text).
    public enum Column: Sendable {
        case numeric([Double])
        case text([String?])
        /// Arrays of numbers of one length (an embedding per row); `nil` rows are missing.
        case embedding(EmbeddingColumn)

        public var count: Int {
            switch self {
            case let .numeric(values): values.count
            case let .text(values): values.count
            case let .embedding(column): column.rows.count
            }
        }

        /// The column as per-value drift tests see it: numbers stay numeric, text is
        /// categorical; `nil` for an embedding, which is compared whole (``EmbeddingColumn``).
        public var driftValues: ColumnValues? {
            switch self {
            case let .numeric(values): .numeric(values)
            case let .text(values): .categorical(CategoryColumn(values))
            case .embedding: nil
            }
        }
    }

    /// A column whose every present value is an array of `dimension` finite numbers.
    public struct EmbeddingColumn: Sendable {
        public let dimension: Int
        /// Each row's values; `nil` where the row has none.
        public let rows: [[Double]?]

        /// The present rows, for the embedding drift tests.
        public func sample() throws(StatisticsError) -> EmbeddingSample {
            try EmbeddingSample(rows: rows.compactMap { $0 }, dimension: dimension)
        }

        public var missingCount: Int { rows.count - rows.lazy.compactMap { $0 }.count }
    }

    public let columnNames: [String]
    public let columns: [Column]
    public let rowCount: Int

    public init(columnNames: [String], columns: [Column]) {
        precondition(columnNames.count == columns.count)
        self.columnNames = columnNames
        self.columns = columns
        rowCount = columns.first?.count ?? 0
    }

    public subscript(name: String) -> Column? {
        columnNames.firstIndex(of: name).map { columns[$0] }
    }

    /// Text that means "no value" in a data file, besides an empty field.
    public static let missingMarkers: Set<String> = ["NA", "N/A", "null", "NULL", "NaN", "nan", "None"]
    static let missingMarkerBytes = missingMarkers.map { Array($0.utf8) }
}

/// How a column of a data file is read.
public enum ColumnReading: Sendable, Equatable {
    /// Numbers; a value that is not a number is an error naming its line.
    case numeric
    /// Text, kept as is.
    case text
    /// Numbers if every present value is a finite number, else text.
    case inferred
}
