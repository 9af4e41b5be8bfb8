import Testing
@testable import VigilStatistics
import VigilTesting

@Suite("Method policy, dataset decisions and integrity", .computeBound)
struct DatasetDriftTests {
    @Test("the default policy uses tests on small samples and effect sizes on large ones")
    func policy() {
        let policy = DriftPolicy()
        #expect(policy.method(for: .numeric, referenceCount: 500, distinctCount: 400) == .ks)
        #expect(policy.method(for: .numeric, referenceCount: 5_000, distinctCount: 4_000) == .normedWasserstein)
        #expect(policy.method(for: .categorical, referenceCount: 500, distinctCount: 2) == .zTest)
        #expect(policy.method(for: .categorical, referenceCount: 500, distinctCount: 4) == .chiSquare)
        #expect(policy.method(for: .categorical, referenceCount: 5_000, distinctCount: 4) == .jensenShannon)
        var forced = DriftPolicy()
        forced.method = .psi
        #expect(forced.method(for: .numeric, referenceCount: 10, distinctCount: 10) == .psi)
        forced.method = .ks
        #expect(forced.method(for: .categorical, referenceCount: 10, distinctCount: 3) == .chiSquare)
    }

    @Test("a negligible shift on a million rows is not drift; a real one is")
    func largeSamples() throws {
        var generator = SampleGenerator(seed: 11)
        let reference = (0..<1_000_000).map { _ in generator.normal() }
        let negligible = (0..<1_000_000).map { _ in generator.normal(mean: 0.01) }
        let real = (0..<1_000_000).map { _ in generator.normal(mean: 0.5) }
        let report = DatasetDrift(
            reference: ["x": .numeric(reference), "y": .numeric(reference)],
            current: ["x": .numeric(negligible), "y": .numeric(real)], columns: ["x", "y"]
        )
        #expect(report.columns.map(\.result?.method) == [.normedWasserstein, .normedWasserstein])
        #expect(report.columns.map(\.drifted) == [false, true])
        // The KS test would have flagged the negligible shift.
        let ks = try NumericDrift.compare(SortedSample(reference), SortedSample(negligible), method: .ks)
        #expect(ks.pValue! < 0.05)
        #expect(report.driftedShare == 0.5 && report.drifted)
    }

    @Test("p-values are adjusted across columns; few-valued numbers are categorical; bad columns are reported, not fatal")
    func datasetDecision() {
        var generator = SampleGenerator(seed: 12)
        var reference: [String: ColumnValues] = [:], current: [String: ColumnValues] = [:]
        for index in 0..<10 {
            reference["c\(index)"] = .numeric((0..<200).map { _ in generator.normal() })
            current["c\(index)"] = .numeric((0..<200).map { _ in generator.normal(mean: index == 0 ? 1 : 0) })
        }
        reference["tier"] = .numeric((0..<200).map { _ in Double(generator.int(0..<3)) })
        current["tier"] = .numeric((0..<200).map { _ in Double(generator.int(0..<3)) })
        reference["gone"] = .numeric([.nan, .nan])
        current["gone"] = .numeric([1, 2])
        let columns = (0..<10).map { "c\($0)" } + ["tier", "gone", "absent"]
        let report = DatasetDrift(reference: reference, current: current, columns: columns)
        #expect(report.columns[0].drifted)
        #expect(report.columns[10].kind == .categorical && report.columns[10].result?.method == .chiSquare)
        #expect(report.columns[11].result == nil && report.columns[11].error?.contains("only missing") == true)
        #expect(report.columns[12].error?.contains("not in the reference") == true)
        for column in report.columns where column.result != nil {
            #expect(column.adjustedPValue! >= column.result!.pValue!)
        }
        #expect(!report.drifted)
    }

    @Test("integrity counts missing, type mismatches, out-of-range, out-of-domain and unseen categories")
    func integrity() {
        let amount = ColumnSchema(name: "amount", type: .number, minimum: 0, maximum: 100)
        let report = ColumnIntegrity(schema: amount, values: ["1.5", nil, "", "abc", "-3", "101", "100", "nan"])
        #expect(report.rows == 8 && report.missing == 2 && report.typeMismatches == 2 && report.outOfRange == 2)
        #expect(report.missingRate == 0.25)
        let plan = ColumnSchema(name: "plan", type: .category, allowed: ["basic", "pro", "team"])
        let plans = ColumnIntegrity(schema: plan, values: ["basic", "pro", "gold", "team", "team"], referenceCategories: ["basic", "pro"])
        #expect(plans.outOfDomain == 1 && plans.unseenCategories == ["team": 2])
        let count = ColumnSchema(name: "orders", type: .integer, required: true)
        #expect(count.violation(of: "2.5") == .typeMismatch)
        #expect(count.violation(of: nil) == .missingRequired)
        #expect(count.violation(of: "7") == nil)
        let change = SchemaChange(expected: ["a", "b", "c"], actual: ["a", "c", "d"])
        #expect(change.added == ["d"] && change.removed == ["b"])
    }
}
