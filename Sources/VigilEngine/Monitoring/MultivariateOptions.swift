import Foundation
import VigilStatistics
import VigilStore

/// The `monitor` step's `multivariate:` setting: `true`, or `{ methods, sample_rows, seed,
/// significance }`. Each window's tested features are then also compared all together with its
/// reference (see ``TabularDrift``), on at most `sample_rows` rows a side drawn by `seed`.
public struct MultivariateOptions: Sendable, Equatable, Decodable {
    public var methods: [TabularDrift.Method] = TabularDrift.Method.allCases
    /// Most rows drawn from each side.
    public var sampleRows = 1_000
    public var seed: UInt64 = 0
    /// The domain classifier's level: it flags a window whose p-value is below it.
    public var significance = 0.01
    /// Whether a drifted window's drivers are also ranked by how far the champion's permutation
    /// importances moved, and how the champion is scored.
    public var championImportance: ChampionImportanceOptions?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case methods, seed, significance
        case sampleRows = "sample_rows", championImportance = "champion_importance"
    }

    public init(from decoder: any Decoder) throws {
        if let enabled = try? decoder.singleValueContainer().decode(Bool.self) {
            guard enabled else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "leave multivariate out to turn it off"))
            }
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        methods = try container.decodeIfPresent([TabularDrift.Method].self, forKey: .methods) ?? methods
        sampleRows = try container.decodeIfPresent(Int.self, forKey: .sampleRows) ?? sampleRows
        seed = try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        significance = try container.decodeIfPresent(Double.self, forKey: .significance) ?? significance
        championImportance = try container.decodeIfPresent(ChampionImportanceOptions.self, forKey: .championImportance)
        guard !methods.isEmpty, sampleRows >= 50, significance > 0, significance < 1 else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath, debugDescription: "multivariate needs at least one method, sample_rows ≥ 50 and 0 < significance < 1"
            ))
        }
    }

    /// The rows of `rows`' `features` these options draw, with their labels: from the whole
    /// window, or from the rows at `indices` (a slice's).
    func sample(_ rows: WindowRows, features: [String], indices: [Int]? = nil) -> TableSample {
        func pick<Value>(_ values: [Value]) -> [Value] { indices.map { $0.map { values[$0] } } ?? values }
        func pick(_ values: CategoryColumn) -> CategoryColumn { indices.map { values.picking($0) } ?? values }
        let columns = features.compactMap { name -> (String, ColumnValues)? in
            switch rows.features[name] {
            case let .numeric(values)?: (name, .numeric(pick(values)))
            case let .categorical(values)?: (name, .categorical(pick(values)))
            case nil: nil
            }
        }
        let labels = pick(rows.labels)
        return TableSample(columns: columns, limit: sampleRows, seed: seed, labels: labels.hasValues ? labels : nil)
    }

    /// The multivariate findings of a window (or of `slice`) over the `tested` features against
    /// `reference`, and the features that drive its drift (each feature's drift rows of the window
    /// or the slice, with the classifier's gain when it ran).
    func findings(
        current: TableSample, reference: TableSample, tested: [String], drift: [DriftMetric], slice: Slice = .overall
    ) throws(StatisticsError) -> ([MultivariateMetric], [DriftDriver]) {
        let reference = reference.selecting(tested), current = current.selecting(tested)
        let (findings, importances) = try TabularDrift.test(reference: reference, current: current, methods: methods, significance: significance, seed: seed)
        let rows = findings.map { finding in
            MultivariateMetric(
                slice: slice, method: finding.method.rawValue, value: finding.value, lower: finding.lower, upper: finding.upper,
                pValue: finding.pValue, significance: finding.pValue == nil ? nil : significance, drifted: finding.drifted,
                referenceRows: reference.rowCount, currentRows: current.rowCount, seed: Int64(bitPattern: seed)
            )
        }
        return (rows, Self.drivers(classifierShares: importances, drift: drift, slice: slice))
    }

    /// The features of the drift rows of the window (or of `slice`), strongest driver first. A
    /// slice's own slicing feature (`region` in `region=eu`), the same in all its rows, drives nothing.
    static func drivers(
        classifierShares: [String: Double]?, drift: [DriftMetric], slice: Slice = .overall, importances: DriftDrivers.Importances? = nil
    ) -> [DriftDriver] {
        var scores: [String: (score: Double, threshold: Double)] = [:]
        for metric in drift where metric.sliceKey == slice.key && metric.sliceValue == slice.value && metric.columnRole == "feature"
            && metric.featureName != slice.key {
            scores[metric.featureName] = (metric.driftScore, metric.driftThreshold)
        }
        let shares = classifierShares?.filter { $0.key != slice.key }
        return DriftDrivers.rank(classifierShares: shares, driftScores: scores, importances: importances)
    }
}
