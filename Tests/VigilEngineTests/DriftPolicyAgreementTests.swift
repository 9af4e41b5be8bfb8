import Foundation
import PostgresNIO
import Testing
import VigilEngine
import VigilStatistics
import VigilStore
import VigilTesting
import VigilWorkflow

/// `vigil drift` (raw values) and the window monitor (stored profiles of a training table and a
/// served window) decide through one `DriftPolicy`: on the same two samples, the same verdicts.
@Suite("One drift policy for `vigil drift` and the monitor")
struct DriftPolicyAgreementTests {
    /// Feature columns and how far the served window moves them from training.
    static let shifts: [(name: String, shift: Double)] = [("steady", 0), ("nudged", 0.05), ("moved", 0.2), ("jumped", 0.8)]

    struct Samples {
        var numbers: [String: [Double]] = [:]
        var plans: [String?] = []
        var tiers: [Double] = []
        var predictions: [String?] = []

        init(count: Int, shifted: Bool, generator: inout SeededGenerator) {
            for (name, shift) in DriftPolicyAgreementTests.shifts {
                numbers[name] = (0..<count).map { _ in generator.normal(mean: shifted ? shift : 0, deviation: 1) }
            }
            let planShares = shifted ? [0.4, 0.35, 0.25] : [0.5, 0.3, 0.2]
            for _ in 0..<count {
                let u = generator.uniform()
                plans.append(u < planShares[0] ? "basic" : u < planShares[0] + planShares[1] ? "pro" : "team")
                tiers.append(Double(Int(generator.uniform() * 3)))
                predictions.append(generator.uniform() < 0.5 ? "1" : "0")
            }
        }

        var columns: [String: ColumnValues] {
            var result = numbers.mapValues { ColumnValues.numeric($0) }
            result["plan"] = .categorical(CategoryColumn(plans))
            result["tier"] = .numeric(tiers)
            result["prediction"] = .categorical(CategoryColumn(predictions))
            return result
        }

        func rows(at start: Date?) -> [String] {
            (0..<plans.count).map { index in
                var values = Self.numberNames.map { String(numbers[$0]![index]) }
                values += ["'\(plans[index]!)'", String(tiers[index]), "'\(predictions[index]!)'"]
                if let start {
                    let ts = ISO8601DateFormatter().string(from: start.addingTimeInterval(Double(index) * 80_000 / Double(plans.count)))
                    values += ["'\(ts)'", "'r\(index)'"]
                }
                return "(" + values.joined(separator: ", ") + ")"
            }
        }

        static var numberNames: [String] { DriftPolicyAgreementTests.shifts.map(\.name) }
    }

    @Test("the same verdicts on small samples (tests) and large ones (confirmed effect sizes)", arguments: [(600, 400), (4_000, 3_000)])
    func sameVerdicts(referenceCount: Int, currentCount: Int) async throws {
        var generator = SeededGenerator(seed: UInt64(referenceCount))
        let reference = Samples(count: referenceCount, shifted: false, generator: &generator)
        let current = Samples(count: currentCount, shifted: true, generator: &generator)
        let columns = Samples.numberNames + ["plan", "tier", "prediction"]
        let offline = DatasetDrift(reference: reference.columns, current: current.columns, columns: columns)

        let day = Date(timeIntervalSince1970: 1_772_323_200) // 2026-03-01T00:00:00Z
        let monitored = try await TestDatabase.withFresh { database in
            let numberColumns = Samples.numberNames.map { "\($0) float8" }.joined(separator: ", ")
            try await database.client.query(PostgresQuery(unsafeSQL: "CREATE TABLE training (\(numberColumns), plan text, tier float8, yhat text)"))
            try await database.client.query(PostgresQuery(unsafeSQL: """
                CREATE TABLE served (\(numberColumns), plan text, tier float8, yhat text, served_at timestamptz, rid text)
                """))
            for chunk in reference.rows(at: nil).chunked(500) {
                try await database.client.query(PostgresQuery(unsafeSQL: "INSERT INTO training VALUES " + chunk.joined(separator: ", ")))
            }
            for chunk in current.rows(at: day).chunked(500) {
                try await database.client.query(PostgresQuery(unsafeSQL: "INSERT INTO served VALUES " + chunk.joined(separator: ", ")))
            }
            let data = MonitoredData(
                table: "served", timestamp: "served_at", prediction: "yhat", label: nil, score: nil, requestID: "rid",
                problemType: .classification,
                features: Samples.numberNames.map { ColumnSchema(name: $0, type: .number) }
                    + [ColumnSchema(name: "plan", type: .category), ColumnSchema(name: "tier", type: .number)],
                granularity: WorkflowDuration(seconds: 86_400), baseline: .table("training")
            )
            var options = WindowMonitor.Options()
            options.lookback = 2 * 86_400
            let monitor = try WindowMonitor(database: database, workflow: "t", model: "m", data: data, options: options, logger: EngineFixtures.logger)
            return try await monitor.run(now: day.addingTimeInterval(86_400), runID: nil).latestDrift
        }

        let monitorVerdicts = Dictionary(uniqueKeysWithValues: monitored.map { ($0.featureName == "yhat" ? "prediction" : $0.featureName, $0) })
        #expect(Set(monitorVerdicts.keys) == Set(columns))
        for column in offline.columns {
            let metric = try #require(monitorVerdicts[column.column])
            let result = try #require(column.result)
            #expect(metric.method == result.method.rawValue, "\(column.column)")
            #expect(metric.drifted == column.drifted, "\(column.column): monitor \(metric.drifted) (\(metric.driftScore), p \(metric.pValue ?? .nan)), drift \(column.drifted) (\(result.score), p \(column.adjustedPValue ?? column.confirmation?.pValue ?? .nan))")
        }
        // Both kinds of verdict occur, so the comparison can fail.
        #expect(offline.columns.contains { $0.drifted } && offline.columns.contains { !$0.drifted })
        let large = referenceCount > DriftPolicy().largeSampleSize
        #expect(offline.columns.first { $0.column == "jumped" }?.result?.method == (large ? .normedWasserstein : .ks))
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
