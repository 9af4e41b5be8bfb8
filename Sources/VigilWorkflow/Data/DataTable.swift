import VigilStatistics

/// A table read from a data file: named columns of numbers or text.
public struct DataTable: Sendable {
    /// One column's values. Missing values are NaN (numbers) or `nil` (text).
    public enum Column: Sendable {
        case numeric([Double])
        case text([String?])

        public var count: Int {
            switch self {
            case let .numeric(values): values.count
            case let .text(values): values.count
            }
        }

        /// The column as drift tests see it: numbers stay numeric, text is categorical.
        public var driftValues: ColumnValues {
            switch self {
            case let .numeric(values): .numeric(values)
            case let .text(values): .categorical(values)
            }
        }
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
