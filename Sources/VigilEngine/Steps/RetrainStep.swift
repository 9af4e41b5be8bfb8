import AsyncHTTPClient
import Foundation
import VigilStore
import VigilWorkflow

/// `retrain`: trains a new version of the workflow's model on the training window ending now, and
/// registers it as `challenger` with its lineage (parent version, run, training window, metrics).
///
/// Executors:
/// - `builtin`: logistic regression (classification) or ridge regression (regression) trained in
///   Swift on the window's labelled rows (see ``BuiltinModel``).
/// - `command`: runs `command` as a child process (see ``TrainingCommand``); it writes
///   `manifest.json` into its output directory.
/// - `http`: asks a training service, then polls it (see ``TrainingService``).
///
/// `command` and `http` trainers are handed the window's labelled rows as files
/// (``TrainingDataExport``), and the files' SHA-256 goes into the new version's lineage.
///
/// Every attempt has the step's idempotency key; a version registered by an earlier attempt is
/// returned as is, so a retried step never registers twice.
public struct RetrainStep: WorkflowStep {
    public struct Parameters: Decodable, Sendable {
        let executor: String
        let window: WorkflowDuration?
        let command: [String]?
        let url: String?
        let algorithm: String?
        let seed: Int?
        let parameters: [String: JSONValue]?
        let pollInterval: WorkflowDuration?

        enum CodingKeys: String, CodingKey {
            case executor, window, command, url, algorithm, seed, parameters
            case pollInterval = "poll_interval"
        }
    }

    public static var schema: StepSchema { StepCatalog.builtIn.schemas["retrain"]! }

    /// Where artifacts and training output go.
    let artifacts: URL?
    let client: HTTPClient

    /// - Parameter artifacts: default `$VIGIL_ARTIFACTS`, else `$VIGIL_HOME/artifacts` (`.vigil/artifacts`).
    public init(artifacts: URL? = nil, client: HTTPClient = .shared) {
        self.artifacts = artifacts
        self.client = client
    }

    /// Where artifacts go: `configured`, else `$VIGIL_ARTIFACTS`, else `$VIGIL_HOME/artifacts` (`.vigil/artifacts`).
    public static func artifactDirectory(_ configured: URL? = nil) -> URL {
        if let configured { return configured }
        if let path = ProcessInfo.processInfo.environment["VIGIL_ARTIFACTS"], !path.isEmpty { return URL(fileURLWithPath: path) }
        return EmbeddedCluster.defaultHome().appendingPathComponent("artifacts")
    }

    /// What an executor produced.
    struct Trained {
        var artifactURI: String
        var checksum: String?
        var framework: String
        var rows: Int?
        var parameters: [String: JSONValue]
        var metrics: [String: JSONValue]
        /// The SHA-256 of the data file the trainer was handed, for lineage.
        var trainingData: String? = nil
    }

    public func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        guard let model = context.workflow.model else { return .failed("the retrain step needs the workflow to declare `model`", retryable: false) }
        let registry = ModelRegistry(database: context.database)
        let end = context.clock.now()
        let start = end.addingTimeInterval(-(parameters.window?.seconds ?? 7 * 86_400))
        if let existing = try await registry.version(idempotencyKey: context.idempotencyKey) {
            await context.log(["version \(existing.version) was registered by an earlier attempt of this step"])
            return Self.outputs(existing)
        }
        let directory = Self.artifactDirectory(artifacts).appendingPathComponent(model)
        // The version the new one descends from: in the trainer's manifest and in the registry.
        let champion = try await registry.version(aliased: "champion", of: model)
        let trained: Trained
        do {
            switch parameters.executor {
            case "builtin":
                trained = try await trainBuiltin(parameters, model: model, from: start, to: end, directory: directory, context: context)
            case "command":
                guard let command = parameters.command, !command.isEmpty else { return .failed("executor command needs `command`: the program and its arguments", retryable: false) }
                let output = directory.appendingPathComponent("runs/\(context.runID)-\(context.stepName)-\(context.attempt)")
                let handed = try await handOff(model: model, from: start, to: end, parent: champion, into: output, context: context)
                trained = try await TrainingCommand(command: command, output: output).run(model: model, from: start, to: end, handed: handed, context: context)
            case "http":
                guard let url = parameters.url else { return .failed("executor http needs `url`: the training service", retryable: false) }
                let handed = try await handOff(model: model, from: start, to: end, parent: champion,
                                               into: directory.appendingPathComponent("runs/\(context.runID)-\(context.stepName)-\(context.attempt)"), context: context)
                trained = try await TrainingService(url: url, client: client, pollInterval: parameters.pollInterval?.seconds ?? 5)
                    .train(model: model, from: start, to: end, parameters: parameters.parameters ?? [:], handed: handed, context: context)
            default:
                return .failed("unknown executor '\(parameters.executor)' (expected builtin, command, http)", retryable: false)
            }
        } catch let error as TrainingError {
            return .failed(error.description, retryable: parameters.executor != "builtin")
        }
        let version = try await registry.register(NewModelVersion(
            artifactURI: trained.artifactURI, checksum: trained.checksum, framework: trained.framework, trainingStart: start, trainingEnd: end,
            trainingRows: trained.rows, parameters: trained.parameters.merging(trained.trainingData.map { ["training_data_sha256": .string($0)] } ?? [:]) { old, _ in old },
            metrics: trained.metrics, parentVersion: champion,
            runID: context.runID, step: context.stepName, idempotencyKey: context.idempotencyKey
        ), of: model, alias: "challenger", actor: "workflow:\(context.workflow.name)#\(context.runID)",
           reason: "retrained by \(context.workflow.name) run \(context.runID)" + (context.trigger.kind == .alert ? " (alert \(context.trigger.name ?? ""))" : ""), now: context.clock.now())
        let node = LineageNode(kind: "model_version", id: "\(model)@\(version.version)")
        let window = LineageNode(kind: "training_window", id: "\(model):\(MonitorStep.format(start))/\(MonitorStep.format(end))")
        try await context.recordLineage(from: window, to: node, relation: "trained_on")
        if let hash = trained.trainingData {
            let data = LineageNode(kind: "training_data", id: "sha256:\(hash)")
            try await context.recordLineage(from: window, to: data, relation: "exported_as")
            try await context.recordLineage(from: data, to: node, relation: "trained_on")
        }
        try await context.recordLineage(from: context.runNode, to: window, relation: "selected")
        // The alerts behind this retraining: the one that started the run, or one an earlier step of it raised.
        let around = try await LineageStore(database: context.database).graph(around: context.runNode)
        let alerts = Set((around.upstream.filter { $0.to == context.runNode }.map(\.from) + around.downstream.filter { $0.from == context.runNode }.map(\.to))
            .filter { $0.kind == "alert" })
        for alert in alerts { try await context.recordLineage(from: alert, to: window, relation: "triggered_retraining") }
        try await context.recordLineage(from: context.runNode, to: node, relation: "produced")
        await context.log(["registered \(model) version \(version.version) as challenger: \(trained.metrics.keys.sorted().map { "\($0)=\(trained.metrics[$0]!)" }.joined(separator: " "))"])
        return Self.outputs(version)
    }

    static func outputs(_ version: ModelVersion) -> StepOutcome {
        .completed([
            "model_version": .number(Double(version.version)), "artifact_uri": .string(version.artifactURI), "metrics": .object(version.metrics),
            "training_start": version.trainingStart.map { .string(MonitorStep.format($0)) } ?? .null,
            "training_end": version.trainingEnd.map { .string(MonitorStep.format($0)) } ?? .null,
        ])
    }

    /// Writes the window's labelled rows for a `command` or `http` trainer into `output` + `-data`
    /// (`training.csv` and `manifest.json`), with the features the model's workflow declares.
    private func handOff(model: String, from: Date, to: Date, parent: Int?, into output: URL, context: StepContext) async throws -> TrainingDataExport.Written {
        let folder = output.deletingLastPathComponent().appendingPathComponent(output.lastPathComponent + "-data")
        try? FileManager.default.removeItem(at: folder)
        let handed = try await TrainingDataExport(database: context.database).write(
            model: model, from: from, to: to, features: try await context.declaredFeatures(of: model), parentVersion: parent, into: folder
        )
        await context.log(["handed the trainer \(handed.rows) labelled rows in \(handed.file.path) (sha256 \(handed.sha256.prefix(12)))"])
        return handed
    }

    private func trainBuiltin(_ parameters: Parameters, model: String, from: Date, to: Date, directory: URL, context: StepContext) async throws -> Trained {
        let classification = context.workflow.data?.problemType != .regression
        let algorithm = parameters.algorithm ?? (classification ? "logistic_regression" : "linear_regression")
        guard algorithm == (classification ? "logistic_regression" : "linear_regression") else {
            throw TrainingError("algorithm \(algorithm) does not fit problem type \(classification ? "classification" : "regression")")
        }
        let rows = try await ServingData(database: context.database).labelledRows(model: model, from: from, to: to)
        let l2 = parameters.parameters?["l2"]?.numberValue ?? 1
        let features = context.workflow.data?.features.map(\.name) ?? []
        await context.log(["training \(algorithm) on \(rows.count) labelled rows from \(MonitorStep.format(from)) to \(MonitorStep.format(to))"])
        let (fitted, metrics, count) = try BuiltinModel.train(rows: rows, features: features, classification: classification, l2: l2)
        let (uri, checksum) = try fitted.write(into: directory)
        var recorded: [String: JSONValue] = ["algorithm": .string(algorithm), "l2": .number(l2), "features": .array(fitted.features.map(JSONValue.string))]
        if let seed = parameters.seed { recorded["seed"] = .number(Double(seed)) }
        return Trained(artifactURI: uri, checksum: checksum, framework: "vigil-builtin/\(algorithm)", rows: count, parameters: recorded, metrics: metrics)
    }
}
