import Foundation
import VigilStatistics
import VigilStore
import VigilWorkflow

/// The `multivariate` setting's `champion_importance`: `true`, or `{ repeats, scorer: { command } }`.
/// A drifted window's drivers are then also ranked by how far the champion's permutation
/// importances moved between the reference's drawn rows and the window's (see ``ChampionImportance``).
public struct ChampionImportanceOptions: Sendable, Equatable, Decodable {
    /// Shuffles of each feature, averaged.
    public var repeats = 5
    /// The program that scores the champion (as `shadow_compare`'s scorer); `nil`: Vigil scores
    /// its own built-in models and skips the term for any other.
    public var scorer: [String]?

    public init() {}

    enum CodingKeys: String, CodingKey { case repeats, scorer }
    enum ScorerKeys: String, CodingKey { case command }

    public init(from decoder: any Decoder) throws {
        if let enabled = try? decoder.singleValueContainer().decode(Bool.self) {
            guard enabled else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "leave champion_importance out to turn it off"))
            }
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        repeats = try container.decodeIfPresent(Int.self, forKey: .repeats) ?? repeats
        if container.contains(.scorer) {
            let command = try container.nestedContainer(keyedBy: ScorerKeys.self, forKey: .scorer).decode([String].self, forKey: .command)
            guard !command.isEmpty, !command[0].isEmpty else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "the scorer's command needs a program"))
            }
            scorer = command
        }
        guard (1...100).contains(repeats) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "champion_importance repeats must be 1 to 100"))
        }
    }
}

/// The champion's permutation importance of each feature on a reference's drawn rows and on a
/// window's, for ranking what drives the window's drift.
///
/// Each side's rows are scored as they are and with each feature shuffled among them
/// (``PermutationImportance``, `repeats` times), in one batch: in process for a model Vigil
/// trained itself, else by the scoring program. The loss is measured against the labels when
/// both sides have at least ``minimumLabelled`` labelled rows (the error rate of a classifier, the
/// squared error of a regressor), and otherwise against the champion's own unshuffled answers,
/// which needs no labels: how much its answers move when the feature carries no information.
struct ChampionImportance {
    /// Labelled rows each side needs before importances are measured against labels.
    static let minimumLabelled = 30

    let options: ChampionImportanceOptions
    let numericOutputs: Bool
    let seed: UInt64

    /// How the champion answers rows it is handed.
    enum Scorer {
        case builtin(BuiltinModel)
        case program(ReplayScorer)
    }

    /// What was measured, and against what.
    struct Measured {
        let importances: DriftDrivers.Importances
        /// `labels` or `predictions`.
        let basis: String
    }

    /// The importances of `features` (tested features both samples hold) to `version` on
    /// `reference` and `current`, whose rows hold every feature the model reads.
    func measure(
        features: [String], reference: TableSample, current: TableSample, version: ModelVersion, scorer: Scorer,
        runID: Int?, output: HandedProgram.OutputSink
    ) async throws -> Measured {
        let useLabels = [reference, current].allSatisfy { ($0.labels?.lazy.filter { $0 != nil }.count ?? 0) >= Self.minimumLabelled }
        let sides = [Side(reference, features: features, labelled: useLabels), Side(current, features: features, labelled: useLabels)]
        let plans = sides.enumerated().map { index, side in
            PermutationImportance(features: features.count, rows: side.rows.count, repeats: options.repeats, seed: seed &+ UInt64(index))
        }
        // Every side's copies, one batch: its rows as they are, then each shuffled copy.
        var batch: [[String: JSONValue]] = []
        for (side, plan) in zip(sides, plans) {
            batch += side.rows
            for copy in plan.orders.indices {
                let feature = features[plan.feature(ofCopy: copy)], order = plan.orders[copy]
                for (row, values) in side.rows.enumerated() {
                    var shuffled = values
                    shuffled[feature] = side.rows[order[row]][feature]
                    batch.append(shuffled)
                }
            }
        }
        let answers = try await predictions(batch, columns: reference.names, version: version, scorer: scorer, runID: runID, output: output)
        var offset = 0
        var results: [[String: Double]] = []
        for (side, plan) in zip(sides, plans) {
            let count = side.rows.count
            let base = Array(answers[offset..<(offset + count)])
            offset += count
            let targets = useLabels ? side.labels : base
            var losses: [Double] = []
            for _ in plan.orders.indices {
                losses.append(PermutationImportance.loss(Array(answers[offset..<(offset + count)]), targets, numeric: numericOutputs))
                offset += count
            }
            let importances = plan.importances(baseLoss: PermutationImportance.loss(base, targets, numeric: numericOutputs), permutedLosses: losses)
            results.append(Dictionary(uniqueKeysWithValues: zip(features, importances)))
        }
        return Measured(importances: DriftDrivers.Importances(reference: results[0], current: results[1]), basis: useLabels ? "labels" : "predictions")
    }

    /// One side's drawn rows as the model reads them (every drawn feature, tested or not), with
    /// their labels (only labelled rows when the loss is measured against labels).
    private struct Side {
        var rows: [[String: JSONValue]] = []
        var labels: [String] = []

        init(_ sample: TableSample, features: [String], labelled: Bool) {
            for row in 0..<sample.rowCount {
                let label = sample.labels?[row] ?? nil
                if labelled, label == nil { continue }
                var values: [String: JSONValue] = [:]
                for (name, column) in zip(sample.names, sample.columns) {
                    switch column {
                    case let .numeric(numbers): values[name] = numbers[row].map(JSONValue.number) ?? .null
                    case let .categorical(texts): values[name] = texts[row].map(JSONValue.string) ?? .null
                    }
                }
                rows.append(values)
                labels.append(label ?? "")
            }
        }
    }

    /// The champion's answer to every row of `batch` (whose features are `columns`), in order.
    private func predictions(
        _ batch: [[String: JSONValue]], columns: [String], version: ModelVersion, scorer: Scorer, runID: Int?, output: HandedProgram.OutputSink
    ) async throws -> [String] {
        switch scorer {
        case let .builtin(model):
            return batch.map { model.predict($0).prediction }
        case let .program(program):
            let stamp = Date(timeIntervalSince1970: 0)
            let rows = batch.enumerated().map { index, values in
                ServingData.LabelledRow(requestID: "p\(index)", ts: stamp, features: values, label: "", prediction: nil, latency: nil)
            }
            let replay = try program.write(rows: rows, features: columns, model: version.model, from: stamp, to: stamp)
            defer { try? FileManager.default.removeItem(at: program.folder) }
            let answers = try await program.predictions(of: version, replay: replay, runID: runID ?? 0, attempt: 1, output: output)
            return rows.map { answers[$0.requestID] ?? "" }
        }
    }
}

extension WindowMonitor {
    /// Whether a window drifted as a whole: a tested feature, or a multivariate method.
    static func drifted(_ metrics: WindowMetrics) -> Bool {
        metrics.drift.contains { $0.sliceKey == nil && $0.columnRole == "feature" && $0.drifted } || metrics.multivariate.contains(where: \.drifted)
    }

    /// `metrics`' drivers ranked again with the champion's permutation importances on `reference`
    /// and on `current`, the rows the multivariate tests drew from the window, or as they are when
    /// the champion cannot be scored (the reason is logged, and the window is still recorded).
    func rankedWithChampion(
        _ metrics: WindowMetrics, rows: WindowRows, drawn current: TableSample, reference: TableSample, settings: ChampionImportanceOptions, runID: Int?
    ) async -> [DriftDriver] {
        guard let multivariate = options.multivariate else { return metrics.drivers }
        let start = metrics.signature.start
        let features = analysis.testedFeatureNames.filter { reference.names.contains($0) && current.names.contains($0) }
        do {
            let registry = ModelRegistry(database: store.database)
            // The version that answered the window's rows, else the champion when it began.
            var version: ModelVersion?
            if let served = WindowAnalysis.championVersion(of: rows).flatMap({ Int($0) }) { version = try? await registry.version(served, of: model) }
            if version == nil { version = try await registry.champion(of: model, at: start) }
            guard let version else {
                logger.info("no champion importance: the model has no champion", metadata: ["model": "\(model)", "window": "\(start)"])
                return metrics.drivers
            }
            let scorer: ChampionImportance.Scorer
            if let command = settings.scorer {
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-importance-\(UUID().uuidString)")
                scorer = .program(ReplayScorer(command: command, folder: folder))
            } else if let model = try? BuiltinModel.load(uri: version.artifactURI, checksum: version.checksum) {
                scorer = .builtin(model)
            } else {
                logger.warning("no champion importance: Vigil cannot score this version itself; give champion_importance a scorer", metadata: [
                    "model": "\(model)", "version": "\(version.version)", "artifact": "\(version.artifactURI)",
                ])
                return metrics.drivers
            }
            let measuring = ChampionImportance(options: settings, numericOutputs: source.data.problemType == .regression, seed: multivariate.seed)
            let logger = logger
            let measured = try await measuring.measure(
                features: features, reference: reference, current: current, version: version, scorer: scorer, runID: runID
            ) { lines, stream in
                for line in lines { logger.info("\(line)", metadata: ["scorer": "\(stream)"]) }
            }
            var classifier: [String: Double] = [:]
            for driver in metrics.drivers { if let share = driver.classifierShare { classifier[driver.feature] = share } }
            logger.info("champion importance measured", metadata: ["model": "\(model)", "version": "\(version.version)", "basis": "\(measured.basis)"])
            return MultivariateOptions.drivers(
                classifierShares: classifier.isEmpty ? nil : classifier, drift: metrics.drift.filter { $0.sliceKey == nil }, importances: measured.importances
            )
        } catch {
            logger.warning("no champion importance for a window", metadata: ["model": "\(model)", "window": "\(start)", "reason": "\(error)"])
            return metrics.drivers
        }
    }
}
