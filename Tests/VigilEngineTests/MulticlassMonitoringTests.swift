import Foundation
import Testing
import VigilEngine
import VigilStatistics
import VigilStore
import VigilTesting
import VigilWorkflow

/// A multiclass model's windows get estimates from its class probabilities, as a binary model's
/// do from its scores.
@Suite("Multiclass estimation in the monitor", .timeLimit(.minutes(3)))
struct MulticlassMonitoringTests {
    static let data = MonitoredData(
        table: nil, timestamp: "ts", prediction: "prediction", label: "label", score: nil, requestID: "request_id",
        problemType: .classification, features: [ColumnSchema(name: "x", type: .number)], granularity: WorkflowDuration(seconds: 3_600),
        baseline: .fixed(start: "2025-11-24T00:00:00Z", end: "2025-11-24T12:00:00Z"), slices: []
    )

    /// 24 hours of 300 requests of a three-class model whose probabilities are the truth's
    /// (calibrated); from hour 12 its input moves, so it is right less often, and only the first
    /// 18 hours are labelled.
    static func write(to url: URL) throws {
        var generator = SeededGenerator(seed: 2026_1205)
        var text = "request_id,ts,prediction,probabilities,label\n"
        let classes = ["a", "b", "c"]
        for hour in 0..<24 {
            for row in 0..<300 {
                let ts = SyntheticLog.start.addingTimeInterval(Double(hour) * 3_600 + Double(row) * 12)
                let x = generator.normal(mean: hour >= 12 ? 0.2 : 1.5, deviation: 1)
                let logits = [2 * x, 0.5, -x]
                let top = logits.max()!
                let weights = logits.map { exp($0 - top) }
                let probabilities = weights.map { $0 / weights.reduce(0, +) }
                let predicted = probabilities.firstIndex(of: probabilities.max()!)!
                let u = generator.uniform()
                let truth = u < probabilities[0] ? 0 : (u < probabilities[0] + probabilities[1] ? 1 : 2)
                let json = zip(classes, probabilities).map { "\"\"\($0)\"\": \(String(format: "%.6f", $1))" }.joined(separator: ", ")
                text += "m\(hour)-\(row),\(ISO8601DateFormatter().string(from: ts)),\(classes[predicted]),\"{\(json)}\",\(hour < 18 ? classes[truth] : "")\n"
            }
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test("every window has accuracy and macro F1 estimated from the class probabilities; where labels exist the realised value is nearly always inside the estimate's band, and the shift lowers both")
    func estimates() async throws {
        let url = SyntheticLog.temporaryFile("multiclass.csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try Self.write(to: url)
        try await TestDatabase.withFresh { database in
            let (report, windows) = try await EngineFixtures.monitoredDay(url, model: "triage", data: Self.data, in: database)
            #expect(report.rowsLoaded == 7_200 && report.quarantined == 0)
            #expect(windows.count == 24)
            var inBand = 0, errors: [Double] = []
            for (hour, window) in windows.enumerated() {
                let estimate = try #require(window.metrics["estimated_accuracy"], "hour \(hour) has no estimate")
                #expect(window.metrics["estimated_f1"] != nil && window.metrics["estimated_roc_auc"] != nil)
                let (lower, upper) = (try #require(estimate.lower), try #require(estimate.upper))
                if hour < 18 {
                    let realised = try #require(window.metrics["accuracy"]).value
                    if (lower...upper).contains(realised) { inBand += 1 }
                    errors.append(abs(realised - estimate.value))
                } else {
                    #expect(window.metrics["accuracy"] == nil)
                }
            }
            // Three sampling errors either side: nearly every labelled window's realised value is inside.
            #expect(inBand >= 16, "\(inBand) of 18 labelled windows inside their band")
            #expect(errors.reduce(0, +) / Double(errors.count) < 0.03, "mean absolute error \(errors)")
            let before = windows.prefix(12).map { $0.metrics["estimated_accuracy"]!.value }.reduce(0, +) / 12
            let after = windows.suffix(12).map { $0.metrics["estimated_accuracy"]!.value }.reduce(0, +) / 12
            #expect(before - after > 0.05, "estimated accuracy \(before) before the shift, \(after) after")
        }
    }
}
