import Foundation

/// Multivariate drift of a table's window against its reference, and the features that drive it.
///
/// Two methods look at the columns together: ``ReconstructionDrift`` (NannyML's data
/// reconstruction: PCA on the standardised reference, a window's mean reconstruction error
/// against the reference chunks' limits) and the ``DomainClassifier`` (held-out ROC AUC of
/// gradient-boosted trees telling the sides apart, with its Mann–Whitney p-value). Both see
/// changes in how columns move together that no per-column test can.
public enum TabularDrift {
    public enum Method: String, Sendable, Codable, CaseIterable {
        case reconstruction
        case domainClassifier = "domain_classifier"
    }

    /// One method's verdict on the window.
    public struct Finding: Sendable, Equatable {
        public let method: Method
        /// The mean reconstruction error, or the classifier's held-out ROC AUC.
        public let value: Double
        /// The reconstruction error's limits; `nil` for the classifier.
        public let lower: Double?
        public let upper: Double?
        /// The classifier's p-value; `nil` for the reconstruction error.
        public let pValue: Double?
        public let drifted: Bool
    }

    /// The findings of `methods` on `current` against `reference` (columns encoded by
    /// ``TableSample/encoded(against:)``), and the classifier's split-gain share per column when it ran.
    ///
    /// - Parameter significance: the classifier's level: it flags a p-value below it.
    /// - Throws: ``StatisticsError`` when a side has too few rows for a method (the classifier
    ///   needs 5 a side, the reconstruction 20 reference rows).
    public static func test(
        reference: TableSample, current: TableSample, methods: [Method], significance: Double, seed: UInt64
    ) throws(StatisticsError) -> (findings: [Finding], importances: [String: Double]?) {
        guard !reference.names.isEmpty else { throw StatisticsError(.emptySample, "no columns to compare") }
        let base = reference.encoded(against: reference), now = current.encoded(against: reference)
        var findings: [Finding] = []
        var importances: [String: Double]?
        for method in methods {
            switch method {
            case .reconstruction:
                let drift = try ReconstructionDrift(reference: try rows(base), seed: seed)
                let sample = try rows(now)
                let value = drift.error(of: sample), limits = drift.limits(rows: sample.count)
                findings.append(Finding(method: method, value: value, lower: limits.lower, upper: limits.upper, pValue: nil,
                                        drifted: value < limits.lower || value > limits.upper))
            case .domainClassifier:
                let result = try DomainClassifier.test(reference: base, current: now, seed: seed)
                findings.append(Finding(method: method, value: result.auc, lower: nil, upper: nil, pValue: result.pValue,
                                        drifted: result.pValue < significance))
                importances = Dictionary(uniqueKeysWithValues: zip(reference.names, result.importances))
            }
        }
        return (findings, importances)
    }

    private static func rows(_ columns: [[Double]]) throws(StatisticsError) -> EmbeddingSample {
        let count = columns.first?.count ?? 0
        guard count > 0 else { throw StatisticsError(.emptySample, "no rows") }
        var values: [Float] = []
        values.reserveCapacity(count * columns.count)
        for row in 0..<count { for column in columns { values.append(Float(column[row])) } }
        return EmbeddingSample(count: count, dimension: columns.count, values: values)
    }
}

/// A feature's part in a window's drift (see ``DriftDrivers``).
public struct DriftDriver: Sendable, Equatable, Codable {
    public let feature: String
    /// The mean of the shares below that were measured (the drift share alone without a
    /// classifier or the champion's importances); the ranking's key. The shares of all features
    /// sum to 1.
    public let share: Double
    /// Its share of the domain classifier's split gain.
    public let classifierShare: Double?
    /// Its drift score relative to its threshold, as a share of all features' such ratios.
    public let driftShare: Double
    public let driftScore: Double?
    /// Its share of how far the champion's permutation importances moved between the reference
    /// and the window (see ``PermutationImportance``).
    public let importanceShare: Double?
    /// The champion's permutation importance of the feature on the reference's rows and on the window's.
    public let referenceImportance: Double?
    public let currentImportance: Double?

    public init(
        feature: String, share: Double, classifierShare: Double?, driftShare: Double, driftScore: Double?,
        importanceShare: Double? = nil, referenceImportance: Double? = nil, currentImportance: Double? = nil
    ) {
        self.feature = feature
        self.share = share
        self.classifierShare = classifierShare
        self.driftShare = driftShare
        self.driftScore = driftScore
        self.importanceShare = importanceShare
        self.referenceImportance = referenceImportance
        self.currentImportance = currentImportance
    }
}

/// Ranks the features that drive a window's drift by up to three views of it: where the domain
/// classifier found the difference (its split gain), how far each feature's own test moved (its
/// drift score over the method's threshold, so scores of different methods compare), and how far
/// the champion's reliance on it moved (its permutation importance on the window against the
/// reference's).
public enum DriftDrivers {
    /// The champion's permutation importances of each feature, on the reference's rows and the window's.
    public struct Importances: Sendable, Equatable {
        public let reference: [String: Double]
        public let current: [String: Double]

        public init(reference: [String: Double], current: [String: Double]) {
            self.reference = reference
            self.current = current
        }
    }

    /// The features of `driftScores` (and of `classifierShares` and `importances`), strongest
    /// driver first; ties by name.
    public static func rank(
        classifierShares: [String: Double]?, driftScores: [String: (score: Double, threshold: Double)], importances: Importances? = nil
    ) -> [DriftDriver] {
        var ratios: [String: Double] = [:]
        for (feature, entry) in driftScores where entry.score.isFinite {
            ratios[feature] = max(0, entry.threshold > 0 ? entry.score / entry.threshold : entry.score)
        }
        let total = ratios.values.reduce(0, +)
        let features = Set(ratios.keys).union(classifierShares?.keys ?? [:].keys).union(importances?.reference.keys ?? [:].keys)
        let importanceShares = importances.map { importances in
            let names = importances.reference.keys.sorted()
            let shares = PermutationImportance.changeShares(
                reference: names.map { importances.reference[$0] ?? 0 }, current: names.map { importances.current[$0] ?? 0 }
            )
            return Dictionary(uniqueKeysWithValues: zip(names, shares))
        }
        return features.map { feature in
            let drift = total > 0 ? (ratios[feature] ?? 0) / total : 0
            let classifier = classifierShares.map { $0[feature] ?? 0 }
            let importance = importanceShares.map { $0[feature] ?? 0 }
            let measured = [drift] + [classifier, importance].compactMap { $0 }
            return DriftDriver(
                feature: feature, share: measured.reduce(0, +) / Double(measured.count), classifierShare: classifier,
                driftShare: drift, driftScore: driftScores[feature]?.score, importanceShare: importance,
                referenceImportance: importances?.reference[feature], currentImportance: importances?.current[feature]
            )
        }.sorted { $0.share != $1.share ? $0.share > $1.share : $0.feature < $1.feature }
    }
}
