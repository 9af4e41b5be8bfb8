import Foundation
import VigilStatistics
import VigilStore
import VigilWorkflow

/// Model quality of a window's labelled rows, and proxies while labels are missing.
///
/// Classification: accuracy, precision, recall and F1 (of the positive class when there are two
/// classes, macro-averaged otherwise), ROC AUC, log loss and expected calibration error from the score. Regression: RMSE, MAE
/// and R². Proxies, on every row: the mean score and mean confidence (max(s, 1 − s)), and the
/// share of positive predictions.
struct PerformanceSummary {
    let table: ProfiledRows
    let problem: MonitoredData.ProblemType
    /// How many rows have both a label and a prediction.
    private let labelledCount: Int
    /// The labelled rows' labels against their predictions, as indices into ``labelledClasses``.
    private let matrix: ConfusionMatrix
    /// The labelled rows' scores by their label's class, for two classes and no missing score.
    private let outcomes: BinaryOutcomes?
    /// The classes among the labelled rows' labels and predictions, in order.
    private let labelledClasses: [String]

    /// Counts the labelled rows straight from the label and prediction columns' codes: a window of
    /// millions of labelled rows adds only its scores (8 bytes a row, for a two-class model), not
    /// a label, prediction and score per row.
    init(table: ProfiledRows, problem: MonitoredData.ProblemType) {
        self.table = table
        self.problem = problem
        let labels = table.labels, predictions = table.predictions
        // First the categories of the rows with both, then each row's class indices.
        var labelSeen = Array(repeating: false, count: labels.categories.count + 1)
        var predictionSeen = Array(repeating: false, count: predictions.categories.count + 1)
        var count = 0
        for row in 0..<table.rowCount {
            let label = Int(labels.code(at: row)), prediction = Int(predictions.code(at: row))
            guard label != 0, prediction != 0 else { continue }
            labelSeen[label] = true
            predictionSeen[prediction] = true
            count += 1
        }
        let seen = zip(labels.categories, labelSeen.dropFirst()).filter(\.1).map(\.0)
            + zip(predictions.categories, predictionSeen.dropFirst()).filter(\.1).map(\.0)
        let classes = Set(seen).sorted()
        let position = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        let labelClass = [-1] + labels.categories.map { position[$0] ?? -1 }
        let predictionClass = [-1] + predictions.categories.map { position[$0] ?? -1 }
        let positive = Self.positiveClass(classes).flatMap(classes.firstIndex)
        var matrix = ConfusionMatrix(classCount: max(2, classes.count))
        var positives: [Double] = [], negatives: [Double] = []
        if positive != nil {
            // Both sized for every labelled row, so neither grows by copying; pages never written cost nothing.
            positives.reserveCapacity(count)
            negatives.reserveCapacity(count)
        }
        for row in 0..<table.rowCount {
            let label = Int(labels.code(at: row)), prediction = Int(predictions.code(at: row))
            guard label != 0, prediction != 0 else { continue }
            matrix.add(label: labelClass[label], prediction: predictionClass[prediction])
            if let positive {
                if labelClass[label] == positive { positives.append(table.scores[row]) } else { negatives.append(table.scores[row]) }
            }
        }
        labelledCount = count
        self.matrix = matrix
        outcomes = positive != nil && count > 0 ? try? BinaryOutcomes(positives: consume positives, negatives: consume negatives) : nil
        labelledClasses = classes
    }

    /// The index of the positive class among ``labelledClasses`` of a two-class problem.
    private var positiveIndex: Int? {
        Self.positiveClass(labelledClasses).flatMap(labelledClasses.firstIndex)
    }

    /// The metrics, each with the reference's value of the same metric where known, and a
    /// realised metric's sampling band (three standard errors either side) where one is known.
    func metrics(slice: Slice, baseline: (String) -> Double?) -> [WindowMetric] {
        var values: [(String, Double, Int, Bool)] = []
        // Counted once: the ROC AUC is both a metric and the basis of its own band.
        let counts = problem == .classification ? binaryCounts : nil
        switch problem {
        case .classification: values = classification(auc: counts?.auc)
        case .regression: values = regression()
        }
        let errors = counts.map(Self.standardErrors) ?? [:]
        return values.map { name, value, labelled, proxy in
            let error = proxy ? nil : errors[name]
            return WindowMetric(
                slice: slice, metric: name, value: value, baselineValue: baseline(name),
                labelledRows: labelled, rowCount: table.rowCount, isProxy: proxy,
                lower: error.map { max(0, value - 3 * $0) }, upper: error.map { min(1, value + 3 * $0) }
            )
        }
    }

    /// Analytic standard errors of the realised binary metrics, by name: a proportion's
    /// √(v(1 − v)/n) over its own denominator (all labelled rows for accuracy, predicted positives
    /// for precision, actual positives for recall, TP + (FP + FN)/2 for F1) and Hanley and
    /// McNeil's for ROC AUC.
    private static func standardErrors(_ counts: BinaryCounts) -> [String: Double] {
        func proportion(_ value: Double, _ n: Double) -> Double? { n > 0 ? (value * (1 - value) / n).squareRoot() : nil }
        let (tp, fp, fn, tn) = (Double(counts.tp), Double(counts.fp), Double(counts.fn), Double(counts.tn))
        var errors: [String: Double] = [:]
        let labelled = tp + fp + fn + tn
        errors["accuracy"] = proportion((tp + tn) / max(1, labelled), labelled)
        if tp + fp > 0 { errors["precision"] = proportion(tp / (tp + fp), tp + fp) }
        if tp + fn > 0 { errors["recall"] = proportion(tp / (tp + fn), tp + fn) }
        let f1Denominator = tp + (fp + fn) / 2
        if f1Denominator > 0 { errors["f1"] = proportion(tp / f1Denominator, f1Denominator) }
        if let auc = counts.auc, tp + fn > 0, fp + tn > 0 {
            let (positives, negatives) = (tp + fn, fp + tn)
            let q1 = auc / (2 - auc), q2 = 2 * auc * auc / (1 + auc)
            let variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) / (positives * negatives)
            errors["roc_auc"] = max(0, variance).squareRoot()
        }
        return errors
    }

    /// The labelled rows' confusion counts for the positive class, and their ROC AUC (`nil` when a
    /// score is missing).
    private typealias BinaryCounts = (tp: Int, fp: Int, fn: Int, tn: Int, auc: Double?)

    /// The labelled rows' ``BinaryCounts`` when there are two classes.
    private var binaryCounts: BinaryCounts? {
        guard labelledCount > 0, let positive = positiveIndex else { return nil }
        let negative = 1 - positive
        return (
            tp: matrix.counts[positive][positive], fp: matrix.counts[negative][positive],
            fn: matrix.counts[positive][negative], tn: matrix.counts[negative][negative],
            auc: try? outcomes?.rocAUC()
        )
    }

    /// The positive class of a two-class problem: `1`, `true` or `yes` when present, else the last in order.
    static func positiveClass(_ classes: [String]) -> String? {
        guard classes.count <= 2, let last = classes.last else { return nil }
        return classes.first { ["1", "true", "yes", "positive"].contains($0.lowercased()) } ?? last
    }

    /// The reliability curve of a binary classifier's labelled rows whose scores are
    /// probabilities; empty otherwise.
    var reliability: [ProbabilisticMetrics.ReliabilityBin] {
        guard problem == .classification, let outcomes, outcomes.areProbabilities else { return [] }
        return (try? outcomes.reliabilityCurve()) ?? []
    }

    /// `auc` is the labelled rows' ROC AUC, from ``binaryCounts``.
    private func classification(auc: Double?) -> [(String, Double, Int, Bool)] {
        var results: [(String, Double, Int, Bool)] = []
        // Proxies are computed on every row; they carry the window's labelled count like the rest.
        var scored = 0, scoreSum = 0.0, confidenceSum = 0.0
        for score in table.scores where !score.isNaN {
            scored += 1
            scoreSum += score
            confidenceSum += max(score, 1 - score)
        }
        if scored > 0 {
            results.append(("mean_score", scoreSum / Double(scored), labelledCount, true))
            results.append(("mean_confidence", confidenceSum / Double(scored), labelledCount, true))
        }
        let classes = labelledClasses
        let predictedCounts = CategoryCounts(table.predictions).counts
        let predicted = predictedCounts.values.reduce(0, +)
        if let positive = Self.positiveClass(Set(predictedCounts.keys).union(classes).sorted()), predicted > 0 {
            results.append(("positive_rate", Double(predictedCounts[positive] ?? 0) / Double(predicted), labelledCount, true))
        }
        guard labelledCount > 0 else { return results }
        let labelled = labelledCount
        results.append(("accuracy", matrix.accuracy, labelled, false))
        let averaging: Averaging
        if let positive = positiveIndex {
            averaging = .binary(positive: positive)
            if let auc { results.append(("roc_auc", auc, labelled, false)) }
            if let outcomes, outcomes.areProbabilities {
                results.append(("log_loss", outcomes.logLoss(), labelled, false))
                if let ece = try? outcomes.expectedCalibrationError() { results.append(("ece", ece, labelled, false)) }
            }
        } else {
            averaging = .macro
        }
        results.append(("precision", matrix.averaged(.precision, averaging), labelled, false))
        results.append(("recall", matrix.averaged(.recall, averaging), labelled, false))
        results.append(("f1", matrix.averaged(.f1, averaging), labelled, false))
        return results
    }

    private func regression() -> [(String, Double, Int, Bool)] {
        var targets: [Double] = [], predictions: [Double] = []
        for index in 0..<table.rowCount {
            if let label = table.labels[index].flatMap(Double.init), let prediction = table.predictions[index].flatMap(Double.init) {
                targets.append(label)
                predictions.append(prediction)
            }
        }
        let predicted = table.predictions.compactMap { $0.flatMap(Double.init) }
        var results: [(String, Double, Int, Bool)] = []
        if !predicted.isEmpty { results.append(("mean_prediction", predicted.reduce(0, +) / Double(predicted.count), targets.count, true)) }
        guard let metrics = try? RegressionMetrics(targets: targets, predictions: predictions) else { return results }
        results.append(("rmse", metrics.rmse, targets.count, false))
        results.append(("mae", metrics.mae, targets.count, false))
        if let r2 = metrics.r2 { results.append(("r2", r2, targets.count, false)) }
        return results
    }
}
