import Testing
import VigilStatistics

@Suite("Categories stored as codes")
struct CategoryColumnTests {
    @Test("rows read back as the text they were given, missing included")
    func roundTrip() {
        let values: [String?] = ["eu", nil, "us", "eu", "", nil, "apac"]
        let column = CategoryColumn(values)
        #expect(Array(column) == values)
        #expect(column.categories == ["eu", "us", "", "apac"])
        #expect(column.codeCounts == [2, 2, 1, 1, 1])
        #expect(CategoryCounts(column) == CategoryCounts(values))
    }

    @Test("appending another column translates its codes into this column's")
    func append() {
        var first: CategoryColumn = ["a", "b", nil]
        let second: CategoryColumn = ["c", nil, "b", "a", "c"]
        first.append(contentsOf: second)
        #expect(Array(first) == ["a", "b", nil, "c", nil, "b", "a", "c"])
        #expect(first.categories == ["a", "b", "c"])
        var empty = CategoryColumn()
        empty.append(contentsOf: second)
        #expect(empty == second)
    }

    @Test("picked rows keep their categories; counts leave out the categories no picked row holds")
    func picking() {
        let column: CategoryColumn = ["a", "b", "c", nil, "b"]
        let picked = column.picking([4, 1, 3])
        #expect(Array(picked) == ["b", "b", nil])
        #expect(CategoryCounts(picked) == CategoryCounts(counts: ["b": 2], missingCount: 1))
        #expect(picked.hasValues)
        #expect(!column.picking([3]).hasValues)
    }
}

extension CategoryColumnTests {
    @Test("the 256th category widens the codes without changing any row")
    func widening() {
        let values: [String?] = (0..<600).map { $0 % 7 == 0 ? nil : "c\($0 % 300)" }
        var column = CategoryColumn(values)
        #expect(Array(column) == values)
        #expect(column.categories.count == 300)
        column.append(contentsOf: ["c1", nil, "new"])
        #expect(Array(column.suffix(3)) == ["c1", nil, "new"])
        var narrow: CategoryColumn = ["x", nil]
        narrow.append(contentsOf: column)
        #expect(Array(narrow) == ["x", nil] + values + ["c1", nil, "new"])
        #expect(CategoryCounts(narrow) == CategoryCounts(Array(narrow)))
    }
}
