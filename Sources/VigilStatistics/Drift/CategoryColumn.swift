/// A column of categories, stored as a code per row into its distinct values.
///
/// A 10M-row window's text columns (categorical features, predictions, labels, which variant
/// answered) cost a byte a row this way while they hold at most 255 categories, and 4 bytes
/// beyond, where `[String?]` costs 16. Reading a row gives its category back as text; counting
/// works on the codes. A column of mostly distinct values (an identifier) costs more this way
/// than as `[String?]`, since each value is also kept in the lookup of codes: such a column is
/// not a category, and drift tests on it mean little.
public struct CategoryColumn: Sendable, Equatable, RandomAccessCollection, ExpressibleByArrayLiteral {
    /// Each row's code while the column has at most 255 categories: a byte a row.
    private var narrowCodes: [UInt8]
    /// Each row's code once it has more (`narrowCodes` is then empty).
    private var wideCodes: [UInt32]
    private var isWide: Bool
    /// The distinct categories, in order of first appearance.
    public private(set) var categories: [String]
    /// Each category's code, while values are added.
    private var lookup: [String: UInt32]

    public init() {
        narrowCodes = []
        wideCodes = []
        isWide = false
        categories = []
        lookup = [:]
    }

    public init<Values: Sequence>(_ values: Values) where Values.Element == String? {
        var column = CategoryColumn()
        column.reserveCapacity(values.underestimatedCount)
        for value in values { column.append(value) }
        self = column
    }

    public init(arrayLiteral values: String?...) {
        self.init(values)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { isWide ? wideCodes.count : narrowCodes.count }

    public subscript(row: Int) -> String? {
        let code = code(at: row)
        return code == 0 ? nil : categories[Int(code) - 1]
    }

    /// A row's category as an index into ``categories``, plus one; 0 is missing.
    public func code(at row: Int) -> UInt32 {
        isWide ? wideCodes[row] : UInt32(narrowCodes[row])
    }

    public static func == (left: CategoryColumn, right: CategoryColumn) -> Bool {
        left.elementsEqual(right)
    }

    public mutating func reserveCapacity(_ rows: Int) {
        if isWide { wideCodes.reserveCapacity(rows) } else { narrowCodes.reserveCapacity(rows) }
    }

    /// The code of `category`, adding it when it is new.
    public mutating func code(of category: String) -> UInt32 {
        if let code = lookup[category] { return code }
        precondition(categories.count < UInt32.max, "more categories than a column can code")
        categories.append(category)
        let code = UInt32(categories.count)
        lookup[category] = code
        if code > UInt8.max && !isWide { widen() }
        return code
    }

    /// From a byte a row to four, once the 256th category arrives.
    private mutating func widen() {
        wideCodes.reserveCapacity(narrowCodes.capacity)
        wideCodes.append(contentsOf: narrowCodes.lazy.map(UInt32.init))
        narrowCodes = []
        isWide = true
    }

    public mutating func append(_ value: String?) {
        append(code: value.map { code(of: $0) } ?? 0)
    }

    /// Appends a row by its code from ``code(of:)`` (0 for missing).
    public mutating func append(code: UInt32) {
        precondition(Int(code) <= categories.count, "a category code beyond the column's categories")
        if isWide { wideCodes.append(code) } else { narrowCodes.append(UInt8(truncatingIfNeeded: code)) }
    }

    /// Appends `other`'s rows, translating its codes into this column's, growing the storage once.
    public mutating func append(contentsOf other: CategoryColumn) {
        let translated: [UInt32] = [0] + other.categories.map { code(of: $0) }
        reserveCapacity(count + other.count)
        for row in other.indices { append(code: translated[Int(other.code(at: row))]) }
    }

    /// The rows at `rows`, in that order, sharing this column's categories.
    public func picking<Rows: Sequence>(_ rows: Rows) -> CategoryColumn where Rows.Element == Int {
        var picked = self
        if isWide { picked.wideCodes = rows.map { wideCodes[$0] } } else { picked.narrowCodes = rows.map { narrowCodes[$0] } }
        return picked
    }

    /// Each row's category passed through `transform`, which is called once per category; a
    /// `nil` result is missing.
    public func mappingCategories(_ transform: (String) -> String?) -> CategoryColumn {
        var result = CategoryColumn()
        let translated: [UInt32] = [0] + categories.map { category in transform(category).map { result.code(of: $0) } ?? 0 }
        result.reserveCapacity(count)
        for row in indices { result.append(code: translated[Int(code(at: row))]) }
        return result
    }

    /// The rows holding each category, by code (index 0: the missing rows).
    public var rowsByCode: [[Int]] {
        var rows = codeCounts.map { count in
            var rows: [Int] = []
            rows.reserveCapacity(count)
            return rows
        }
        for row in indices { rows[Int(code(at: row))].append(row) }
        return rows
    }

    /// How many rows hold each category, by code (index 0 counts the missing rows).
    public var codeCounts: [Int] {
        var counts = Array(repeating: 0, count: categories.count + 1)
        if isWide {
            for code in wideCodes { counts[Int(code)] += 1 }
        } else {
            for code in narrowCodes { counts[Int(code)] += 1 }
        }
        return counts
    }

    /// Whether any row holds a category.
    public var hasValues: Bool { isWide ? wideCodes.contains { $0 != 0 } : narrowCodes.contains { $0 != 0 } }
}

extension CategoryCounts {
    /// Counts a column's categories by their codes.
    public init(_ column: CategoryColumn) {
        self.init()
        for (code, count) in column.codeCounts.enumerated() where count > 0 {
            add(code == 0 ? nil : column.categories[code - 1], count: count)
        }
    }
}
