import Foundation
import Testing
import VigilStatistics
import VigilTesting

/// Cases from `Fixtures/make_regression_estimation_fixtures.py`: NannyML 0.13's direct loss
/// estimation (LightGBM error models) on a linear regression under covariate shift.
struct LossEstimationFixtures: Decodable {
    struct Rows: Decodable {
        /// Three numeric features, column by column.
        let x: [[Double]]
        let region: [String]
        let y_pred: [Double]
        let y_true: [Double]

        var features: [String: ColumnValues] {
            var columns = Dictionary(uniqueKeysWithValues: x.enumerated().map { ("x\($0.offset)", ColumnValues.numeric($0.element)) })
            columns["region"] = .categorical(CategoryColumn(region.map { $0 }))
            return columns
        }

        func features(_ rows: Range<Int>) -> [String: ColumnValues] {
            features.mapValues { column in
                switch column {
                case let .numeric(values): .numeric(Array(values[rows]))
                case let .categorical(values): .categorical(values.picking(rows))
                }
            }
        }
    }

    struct Case: Decodable {
        let name: String
        let chunk_size: Int
        let reference: Rows
        let analysis: Rows
        let nannyml: [String: [Double]]
        let realised: [String: [Double]]
    }

    let nannyml: String
    let cases: [Case]

    static let shared: LossEstimationFixtures = loadFixture("estimation_regression_cases.json")
}

@Suite("Regression error estimation before labels, against NannyML's direct loss estimation", .computeBound)
struct LossEstimationReferenceTests {
    /// Per loss, the mean absolute error of Vigil's and NannyML's chunk estimates against the realised values.
    static func errors(_ fixture: LossEstimationFixtures.Case) throws -> [DirectLossEstimator.Loss: (vigil: Double, nannyML: Double)] {
        let estimator = try DirectLossEstimator(
            features: fixture.reference.features, predictions: fixture.reference.y_pred, targets: fixture.reference.y_true, chunkSize: fixture.chunk_size
        )
        var ours: [DirectLossEstimator.Loss: [Double]] = [:], realised: [DirectLossEstimator.Loss: [Double]] = [:]
        let count = fixture.analysis.y_true.count
        for start in stride(from: 0, to: count, by: fixture.chunk_size) {
            let rows = start..<min(start + fixture.chunk_size, count)
            let estimates = try estimator.estimate(features: fixture.analysis.features(rows), predictions: Array(fixture.analysis.y_pred[rows]))
            for loss in DirectLossEstimator.Loss.allCases {
                ours[loss, default: []].append(estimates[loss]?.value ?? .nan)
                realised[loss, default: []].append(loss.realised(predictions: fixture.analysis.y_pred[rows], targets: fixture.analysis.y_true[rows]) ?? .nan)
            }
        }
        var errors: [DirectLossEstimator.Loss: (Double, Double)] = [:]
        for loss in DirectLossEstimator.Loss.allCases {
            let truth = try #require(fixture.realised[loss.rawValue])
            let realisedGap = meanAbsoluteError(realised[loss] ?? [], truth)
            #expect(realisedGap < 1e-9, "\(loss.rawValue): realised differs from scikit-learn's by \(realisedGap)")
            errors[loss] = (meanAbsoluteError(ours[loss] ?? [], truth), meanAbsoluteError(try #require(fixture.nannyml[loss.rawValue]), truth))
            print("loss estimation \(fixture.name) \(loss.rawValue): Vigil MAE \(errors[loss]!.0), NannyML MAE \(errors[loss]!.1)")
        }
        return errors
    }

    /// The same method with the same error-model settings as NannyML's defaults; what differs is
    /// the booster (ours against LightGBM), which puts Vigil 5% behind in total on these cases
    /// (0.629 against 0.600), ahead on MAE in two of three. The bounds hold it there.
    @Test("over the three cases, MAE and RMSE are estimated within 10% of NannyML's DLE in total, and each within 30% of it; realised values agree with scikit-learn's")
    func againstNannyML() throws {
        var vigil = 0.0, nannyML = 0.0
        for fixture in LossEstimationFixtures.shared.cases {
            for (loss, error) in try Self.errors(fixture) {
                vigil += error.vigil
                nannyML += error.nannyML
                #expect(error.vigil <= 1.3 * error.nannyML, "\(fixture.name) \(loss.rawValue): Vigil \(error.vigil) against NannyML \(error.nannyML)")
            }
        }
        print("loss estimation total: Vigil \(vigil), NannyML \(nannyML)")
        #expect(vigil <= 1.1 * nannyML, "summed mean absolute error: Vigil \(vigil) against NannyML \(nannyML)")
    }

    @Test("a window's band holds its estimate, reaches no lower than 0 and narrows as the window grows")
    func bands() throws {
        let fixture = try #require(LossEstimationFixtures.shared.cases.first)
        let estimator = try DirectLossEstimator(features: fixture.reference.features, predictions: fixture.reference.y_pred, targets: fixture.reference.y_true)
        let small = try estimator.estimate(features: fixture.analysis.features(0..<100), predictions: Array(fixture.analysis.y_pred[0..<100]))
        let large = try estimator.estimate(features: fixture.analysis.features(0..<2000), predictions: Array(fixture.analysis.y_pred[0..<2000]))
        for loss in DirectLossEstimator.Loss.allCases {
            let (a, b) = (try #require(small[loss]), try #require(large[loss]))
            let (lower, upper) = (try #require(a.lower), try #require(a.upper))
            #expect(lower >= 0 && lower <= a.value && a.value <= upper)
            #expect(try #require(b.upper) - (try #require(b.lower)) < upper - lower)
        }
    }

    @Test("a feature the window lacks and a category never seen read as missing, not as an error")
    func missingInputs() throws {
        let fixture = try #require(LossEstimationFixtures.shared.cases.first)
        let estimator = try DirectLossEstimator(features: fixture.reference.features, predictions: fixture.reference.y_pred, targets: fixture.reference.y_true)
        var features = fixture.analysis.features(0..<50)
        features["x2"] = nil
        features["region"] = .categorical(CategoryColumn(repeatElement("east", count: 50)))
        let estimates = try estimator.estimate(features: features, predictions: Array(fixture.analysis.y_pred[0..<50]))
        #expect(estimates[.mae].map { $0.value.isFinite && $0.value > 0 } == true)
        #expect(throws: StatisticsError.self) { try estimator.estimate(features: [:], predictions: [.nan, .nan]) }
    }
}
