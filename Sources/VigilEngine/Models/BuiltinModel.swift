import Foundation
import VigilStatistics
import VigilStore
import VigilWorkflow

/// A model Vigil trains and scores itself: logistic regression for binary classification, ridge
/// regression for regression, over a workflow's declared features. Saved as a JSON artifact
/// (`vigil.linear-model/1`), named by its SHA-256, so the same training data give the same file.
public struct BuiltinModel: Sendable, Codable, Equatable {
    public static let format = "vigil.linear-model/1"

    public let format: String
    public let model: LinearModel
    /// `[negative, positive]` for a classifier; `nil` for a regressor.
    public let classes: [String]?
    /// The features it reads, by name.
    public let features: [String]

    /// What one row is predicted to be: the label (or value as text) and the score.
    public func predict(_ row: [String: JSONValue]) -> (prediction: String, score: Double) {
        var values: [String: FeatureValue] = [:]
        for name in features { values[name] = Self.value(row[name]) }
        let score = model.predict(values)
        guard let classes else { return (NumberText.format(score), score) }
        return (score >= 0.5 ? classes[1] : classes[0], score)
    }

    static func value(_ json: JSONValue?) -> FeatureValue {
        switch json {
        case let .number(number)?: .number(number)
        case let .string(text)?: .text(text)
        case let .bool(flag)?: .text(flag ? "true" : "false")
        default: .missing
        }
    }

    /// The positive class of two labels: `1`, `true` or `yes` when present, else the later in order.
    static func positiveClass(of labels: Set<String>) -> String {
        for candidate in ["1", "true", "yes", "True", "Yes"] where labels.contains(candidate) { return candidate }
        return labels.sorted().last ?? "1"
    }

    /// Trains on the older 80% of `rows` (by time) and measures it on the most recent 20%.
    ///
    /// - Returns: the model and its offline metrics (`accuracy`, `f1`, `auc`, `log_loss`, or `rmse`, `mae`).
    public static func train(
        rows: [ServingData.LabelledRow], features: [String], classification: Bool, l2: Double
    ) throws -> (model: BuiltinModel, metrics: [String: JSONValue], trainingRows: Int) {
        guard rows.count >= 20 else { throw TrainingError("only \(rows.count) labelled rows in the training window; at least 20 are needed") }
        let split = max(10, rows.count * 4 / 5)
        let training = Array(rows.prefix(split)), holdout = Array(rows.suffix(from: min(split, rows.count - 1)))
        let names = features.isEmpty ? Array(Set(rows.flatMap { $0.features.keys })).sorted() : features
        func encode(_ row: ServingData.LabelledRow) -> [String: FeatureValue] {
            var values: [String: FeatureValue] = [:]
            for name in names { values[name] = value(row.features[name]) }
            return values
        }
        if classification {
            let classes = Set(rows.map(\.label))
            guard classes.count == 2 else {
                throw TrainingError("the built-in trainer handles binary classification; the labels have \(classes.count) class\(classes.count == 1 ? "" : "es") (\(classes.sorted().prefix(5).joined(separator: ", ")))")
            }
            let positive = positiveClass(of: classes)
            let ordered = [classes.first { $0 != positive }!, positive]
            let labels = training.map { $0.label == positive ? 1.0 : 0.0 }
            guard Set(labels).count == 2 else { throw TrainingError("the older 80% of the training window holds only one class") }
            let fitted = try BuiltinModel(format: format, model: LinearModel.logistic(rows: training.map(encode), labels: labels, l2: l2), classes: ordered, features: names)
            let truth = holdout.map { $0.label == positive ? 1 : 0 }
            let scores = holdout.map { fitted.predict($0.features).score }
            let matrix = try ConfusionMatrix(labels: truth, predictions: scores.map { $0 >= 0.5 ? 1 : 0 })
            var metrics: [String: JSONValue] = [
                "accuracy": .number(matrix.accuracy), "f1": .number(matrix.f1(1)), "holdout_rows": .number(Double(holdout.count)),
            ]
            if let auc = try? ProbabilisticMetrics.rocAUC(labels: truth, scores: scores) { metrics["auc"] = .number(auc) }
            if let loss = try? ProbabilisticMetrics.logLoss(labels: truth, probabilities: scores) { metrics["log_loss"] = .number(loss) }
            return (fitted, metrics, training.count)
        }
        let targets = try training.map { row -> Double in
            guard let value = Double(row.label) else { throw TrainingError("label '\(row.label)' of request \(row.requestID) is not a number (problem type regression)") }
            return value
        }
        let fitted = try BuiltinModel(format: format, model: LinearModel.linear(rows: training.map(encode), targets: targets, l2: l2), classes: nil, features: names)
        var squared = 0.0, absolute = 0.0, counted = 0.0
        for row in holdout {
            guard let truth = Double(row.label) else { continue }
            let error = fitted.predict(row.features).score - truth
            squared += error * error
            absolute += abs(error)
            counted += 1
        }
        return (fitted, [
            "rmse": .number(counted > 0 ? (squared / counted).squareRoot() : .nan), "mae": .number(counted > 0 ? absolute / counted : .nan),
            "holdout_rows": .number(counted),
        ], training.count)
    }

    /// Writes the artifact into `directory` as `<sha256>.json`.
    ///
    /// - Returns: its `file://` URI and checksum.
    public func write(into directory: URL) throws -> (uri: String, checksum: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(self)
        let checksum = data.sha256Hex
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("\(checksum).json")
        if !FileManager.default.fileExists(atPath: file.path) { try data.write(to: file, options: .atomic) }
        return (file.absoluteString, checksum)
    }

    /// Loads an artifact from a `file://` URI (or path), checking its checksum when one is given.
    public static func load(uri: String, checksum: String? = nil) throws -> BuiltinModel {
        let path = uri.hasPrefix("file://") ? URL(string: uri)?.path ?? String(uri.dropFirst(7)) : uri
        guard let data = FileManager.default.contents(atPath: path) else { throw TrainingError("cannot read the model artifact \(uri)") }
        if let checksum, data.sha256Hex != checksum {
            throw TrainingError("the artifact \(uri) does not match its registered checksum")
        }
        guard let model = try? JSONDecoder().decode(BuiltinModel.self, from: data), model.format == format else {
            throw TrainingError("\(uri) is not a built-in model artifact (\(format))")
        }
        return model
    }
}

/// Training that cannot go ahead, with the reason.
public struct TrainingError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
