import Foundation
import Testing
@testable import VigilStatistics
import VigilTesting

/// Reference numbers computed by scikit-learn and NumPy (`Fixtures/make_quality_fixtures.py`).
struct QualityFixtures: Decodable {
    struct Binary: Decodable {
        let labels: [Int], scores: [Double], predictions: [Int]
        let accuracy, precision, recall, f1, brier, log_loss: Double
        let confusion: [[Int]]
        let roc_auc: Double?, average_precision: Double?
    }
    struct Multiclass: Decodable {
        let labels: [Int], predictions: [Int], probabilities: [[Double]], classes: Int
        let accuracy, log_loss: Double
        let confusion: [[Int]]
        let precision_macro, recall_macro, f1_macro: Double
        let precision_micro, recall_micro, f1_micro: Double
        let precision_weighted, recall_weighted, f1_weighted: Double
    }
    struct Regression: Decodable {
        let targets: [Double], predictions: [Double]
        let rmse, mae, mape: Double
        let r2: Double?
    }
    struct Percentiles: Decodable {
        let values: [Double]
        let p50, p95, p99: Double
    }
    let binary: [Binary], multiclass: [Multiclass], regression: [Regression], percentiles: [Percentiles]

    static let shared: QualityFixtures = loadFixture("quality_cases.json")
}

@Suite("Model-quality metrics against scikit-learn", .computeBound)
struct QualityReferenceTests {
    @Test("binary classification", arguments: Array(QualityFixtures.shared.binary.enumerated()))
    func binary(index: Int, fixture: QualityFixtures.Binary) throws {
        let matrix = try ConfusionMatrix(labels: fixture.labels, predictions: fixture.predictions)
        #expect(matrix.counts == fixture.confusion)
        #expect(isClose(matrix.accuracy, fixture.accuracy), "case \(index)")
        #expect(isClose(matrix.averaged(.precision, .binary()), fixture.precision), "case \(index)")
        #expect(isClose(matrix.averaged(.recall, .binary()), fixture.recall), "case \(index)")
        #expect(isClose(matrix.averaged(.f1, .binary()), fixture.f1), "case \(index)")
        let brier = try ProbabilisticMetrics.brierScore(labels: fixture.labels, probabilities: fixture.scores)
        #expect(isClose(brier, fixture.brier), "case \(index) brier \(brier) vs \(fixture.brier)")
        let logLoss = try ProbabilisticMetrics.logLoss(labels: fixture.labels, probabilities: fixture.scores)
        #expect(isClose(logLoss, fixture.log_loss), "case \(index) log loss \(logLoss) vs \(fixture.log_loss)")
        if let expected = fixture.roc_auc {
            let auc = try ProbabilisticMetrics.rocAUC(labels: fixture.labels, scores: fixture.scores)
            #expect(isClose(auc, expected), "case \(index) AUC \(auc) vs \(expected)")
        } else {
            #expect(throws: StatisticsError.self) { try ProbabilisticMetrics.rocAUC(labels: fixture.labels, scores: fixture.scores) }
        }
        if let expected = fixture.average_precision {
            let ap = try ProbabilisticMetrics.averagePrecision(labels: fixture.labels, scores: fixture.scores)
            #expect(isClose(ap, expected), "case \(index) AP \(ap) vs \(expected)")
        }
    }

    @Test("multiclass averages", arguments: Array(QualityFixtures.shared.multiclass.enumerated()))
    func multiclass(index: Int, fixture: QualityFixtures.Multiclass) throws {
        let matrix = try ConfusionMatrix(labels: fixture.labels, predictions: fixture.predictions, classCount: fixture.classes)
        #expect(matrix.counts == fixture.confusion)
        #expect(isClose(matrix.accuracy, fixture.accuracy))
        let expected: [(ClassMetric, Averaging, Double)] = [
            (.precision, .macro, fixture.precision_macro), (.recall, .macro, fixture.recall_macro), (.f1, .macro, fixture.f1_macro),
            (.precision, .micro, fixture.precision_micro), (.recall, .micro, fixture.recall_micro), (.f1, .micro, fixture.f1_micro),
            (.precision, .weighted, fixture.precision_weighted), (.recall, .weighted, fixture.recall_weighted),
            (.f1, .weighted, fixture.f1_weighted),
        ]
        for (metric, averaging, value) in expected {
            #expect(isClose(matrix.averaged(metric, averaging), value), "case \(index) \(metric) \(averaging)")
        }
        let logLoss = try ProbabilisticMetrics.logLoss(labels: fixture.labels, probabilityRows: fixture.probabilities)
        #expect(isClose(logLoss, fixture.log_loss), "case \(index) log loss")
    }

    @Test("regression", arguments: Array(QualityFixtures.shared.regression.enumerated()))
    func regression(index: Int, fixture: QualityFixtures.Regression) throws {
        let metrics = try RegressionMetrics(targets: fixture.targets, predictions: fixture.predictions)
        #expect(isClose(metrics.rmse, fixture.rmse), "case \(index) rmse")
        #expect(isClose(metrics.mae, fixture.mae), "case \(index) mae")
        #expect(isClose(metrics.mape, fixture.mape), "case \(index) mape \(metrics.mape) vs \(fixture.mape)")
        if let r2 = fixture.r2 {
            #expect(isClose(metrics.r2 ?? .nan, r2), "case \(index) r2")
        } else {
            #expect(metrics.r2 == nil)
        }
    }

    @Test("latency percentiles", arguments: QualityFixtures.shared.percentiles)
    func percentiles(fixture: QualityFixtures.Percentiles) throws {
        let metrics = try OperationalMetrics(latencies: fixture.values, errors: 1, requests: fixture.values.count + 1, windowSeconds: 60)
        #expect(isClose(metrics.latencyP50 ?? .nan, fixture.p50))
        #expect(isClose(metrics.latencyP95 ?? .nan, fixture.p95))
        #expect(isClose(metrics.latencyP99 ?? .nan, fixture.p99))
        #expect(isClose(metrics.errorRate, 1 / Double(fixture.values.count + 1)))
        #expect(isClose(metrics.throughput, Double(fixture.values.count + 1) / 60))
    }

    @Test("ROC AUC of 40,000 rows with heavy ties and signed zeros equals the trapezoids under its curve")
    func largeTiedAUC() throws {
        var generator = SeededGenerator(seed: 7)
        var labels: [Int] = [], scores: [Double] = []
        for row in 0..<40_000 {
            let label = generator.uniform() < 0.3 ? 1 : 0
            // 201 distinct scores, so most rows tie; half the zeros negative.
            var score = ((generator.uniform() * 0.7 + Double(label) * 0.3) * 200).rounded() / 200
            if score == 0, row.isMultiple(of: 2) { score = -0.0 }
            labels.append(label)
            scores.append(score)
        }
        // The curve itself, as scikit-learn draws it: one point per distinct score, highest first.
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var area = 0.0, tp = 0, fp = 0, previous = (fp: 0, tp: 0)
        for (position, index) in order.enumerated() {
            if labels[index] == 1 { tp += 1 } else { fp += 1 }
            if position + 1 == order.count || scores[order[position + 1]] != scores[index] {
                area += Double(fp - previous.fp) * Double(tp + previous.tp) / 2
                previous = (fp, tp)
            }
        }
        let expected = area / (Double(tp) * Double(fp))
        let auc = try ProbabilisticMetrics.rocAUC(labels: labels, scores: scores)
        #expect(abs(auc - expected) < 1e-12, "\(auc) vs \(expected)")
        #expect(auc > 0.6 && auc < 0.95)
        #expect(scores.contains { $0 == 0 && $0.sign == .minus })
    }

    @Test("empty or mismatched inputs are typed errors, not NaN")
    func emptyInputs() throws {
        #expect(throws: StatisticsError.self) { try RegressionMetrics(targets: [], predictions: []) }
        #expect(throws: StatisticsError.self) { try RegressionMetrics(targets: [1, 2], predictions: [1]) }
        #expect(throws: StatisticsError.self) { try ProbabilisticMetrics.logLoss(labels: [], probabilities: []) }
        #expect(throws: StatisticsError.self) { try ConfusionMatrix(labels: [0, 3], predictions: [0, 1]) }
        #expect(throws: StatisticsError.self) { try ProbabilisticMetrics.rocAUC(labels: [1, 1], scores: [0.2, .nan]) }
        let idle = try OperationalMetrics(latencies: [], errors: 0, requests: 0, windowSeconds: 300)
        #expect(idle.latencyP95 == nil && idle.errorRate == 0 && idle.throughput == 0)
    }
}
