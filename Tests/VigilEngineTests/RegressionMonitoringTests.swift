import Foundation
import Testing
import VigilEngine
import VigilStatistics
import VigilStore
import VigilTesting
import VigilWorkflow

/// A regression's windows get their errors estimated from inputs and predictions (direct loss
/// estimation) before labels, as a classifier's get estimates from its scores.
@Suite("Regression error estimation in the monitor", .timeLimit(.minutes(3)))
struct RegressionMonitoringTests {
    static let data = MonitoredData(
        table: nil, timestamp: "ts", prediction: "prediction", label: "label", score: nil, requestID: "request_id",
        problemType: .regression, features: [ColumnSchema(name: "x", type: .number), ColumnSchema(name: "region", type: .string)],
        granularity: WorkflowDuration(seconds: 3_600), baseline: .fixed(start: "2025-11-24T00:00:00Z", end: "2025-11-24T12:00:00Z"), slices: []
    )

    /// 24 hours of 300 requests of a model predicting 2x whose error grows with |x| and is
    /// larger in the west; from hour 12 inputs move outward and west, so it is wrong by more,
    /// and only the first 18 hours are labelled.
    static func write(to url: URL) throws {
        var generator = SeededGenerator(seed: 2026_1206)
        var text = "request_id,ts,x,region,prediction,label\n"
        for hour in 0..<24 {
            for row in 0..<300 {
                let ts = SyntheticLog.start.addingTimeInterval(Double(hour) * 3_600 + Double(row) * 12)
                let x = generator.normal(mean: hour >= 12 ? 1.2 : 0, deviation: 1)
                let west = generator.uniform() < (hour >= 12 ? 0.7 : 0.3)
                let noise = generator.normal(mean: 0, deviation: (0.3 + abs(x)) * (west ? 2 : 1))
                let label = hour < 18 ? String(format: "%.4f", 2 * x + noise) : ""
                text += "r\(hour)-\(row),\(ISO8601DateFormatter().string(from: ts)),\(String(format: "%.4f", x)),\(west ? "west" : "east"),\(String(format: "%.4f", 2 * x)),\(label)\n"
            }
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test("every window has MAE and RMSE estimated with bands; where labels exist the realised MAE is nearly always inside the band, and the shift raises the estimate before any label shows it")
    func estimates() async throws {
        let url = SyntheticLog.temporaryFile("regression.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try Self.write(to: url)
        try await TestDatabase.withFresh { database in
            let (report, windows) = try await EngineFixtures.monitoredDay(url, model: "pricing", data: Self.data, in: database)
            #expect(report.rowsLoaded == 7_200 && report.quarantined == 0)
            #expect(windows.count == 24)
            var inBand = 0, errors: [Double] = []
            for (hour, window) in windows.enumerated() {
                let estimate = try #require(window.metrics["estimated_mae"], "hour \(hour) has no estimate")
                let rmse = try #require(window.metrics["estimated_rmse"])
                #expect(rmse.value >= estimate.value, "RMSE \(rmse.value) below MAE \(estimate.value)")
                #expect(estimate.baselineValue != nil)
                let (lower, upper) = (try #require(estimate.lower), try #require(estimate.upper))
                if hour < 18 {
                    let realised = try #require(window.metrics["mae"]).value
                    if (lower...upper).contains(realised) { inBand += 1 }
                    errors.append(abs(realised - estimate.value) / realised)
                } else {
                    #expect(window.metrics["mae"] == nil)
                }
            }
            #expect(inBand >= 16, "\(inBand) of 18 labelled windows inside their band")
            #expect(errors.reduce(0, +) / Double(errors.count) < 0.1, "relative errors \(errors)")
            let before = windows.prefix(12).map { $0.metrics["estimated_mae"]!.value }.reduce(0, +) / 12
            let unlabelled = windows.suffix(6).map { $0.metrics["estimated_mae"]!.value }.reduce(0, +) / 6
            #expect(unlabelled > 1.5 * before, "estimated MAE \(before) before the shift, \(unlabelled) in the unlabelled hours")
        }
    }
}
