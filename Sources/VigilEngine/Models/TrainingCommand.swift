import Foundation
import VigilStore
import VigilWorkflow

/// A training program run by the `retrain` step's `command` executor.
///
/// The retrain step first writes the window's labelled rows to `training.csv` with a
/// `manifest.json` that describes it (``TrainingDataExport``) in a folder of their own. The program gets, as arguments
/// and in its environment, the model, the training window, the data file and its manifest, an
/// output directory and the step's idempotency key (the same on every attempt):
///
/// ```
/// PROGRAM ARGS… --model churn --training-start 2026-11-18T10:00:00Z --training-end 2026-11-25T10:00:00Z \
///     --output-dir DIR --idempotency-key KEY --training-data DATA/training.csv --training-manifest DATA/manifest.json
/// VIGIL_MODEL, VIGIL_TRAINING_START, VIGIL_TRAINING_END, VIGIL_OUTPUT_DIR, VIGIL_IDEMPOTENCY_KEY,
/// VIGIL_TRAINING_DATA, VIGIL_TRAINING_MANIFEST, VIGIL_RUN_ID, VIGIL_ATTEMPT
/// ```
///
/// It gets no database credentials: what it trains on is the files. The data's SHA-256 goes into
/// the new version's lineage. The program's output streams into the step's log; on timeout or
/// cancellation its whole process group is killed. It must write `DIR/manifest.json`:
///
/// ```json
/// {"artifact": "model.onnx", "framework": "sklearn", "metrics": {"f1": 0.81}, "parameters": {"C": 1.0}}
/// ```
///
/// `artifact` is a path (relative to the output directory) or a URI.
struct TrainingCommand {
    let command: [String]
    let output: URL

    func run(model: String, from: Date, to: Date, handed: TrainingDataExport.Written, context: StepContext) async throws -> RetrainStep.Trained {
        try? FileManager.default.removeItem(at: output)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let start = MonitorStep.format(from), end = MonitorStep.format(to)
        try await HandedProgram(command: command, role: "training command", failure: TrainingError.init).run(
            arguments: [
                "--model", model, "--training-start", start, "--training-end", end, "--output-dir", output.path, "--idempotency-key", context.idempotencyKey,
                "--training-data", handed.file.path, "--training-manifest", handed.manifest.path,
            ],
            variables: [
                "VIGIL_MODEL": model, "VIGIL_TRAINING_START": start, "VIGIL_TRAINING_END": end, "VIGIL_OUTPUT_DIR": output.path,
                "VIGIL_IDEMPOTENCY_KEY": context.idempotencyKey, "VIGIL_RUN_ID": String(context.runID), "VIGIL_ATTEMPT": String(context.attempt),
                "VIGIL_TRAINING_DATA": handed.file.path, "VIGIL_TRAINING_MANIFEST": handed.manifest.path,
            ],
            context: context
        )
        let manifestFile = output.appendingPathComponent("manifest.json")
        guard let data = FileManager.default.contents(atPath: manifestFile.path) else {
            throw TrainingError("the training command \(command[0]) wrote no manifest: expected \(manifestFile.path)")
        }
        guard case let .object(manifest)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw TrainingError("\(manifestFile.path) is not a JSON object")
        }
        guard let artifact = manifest["artifact"]?.stringValue, !artifact.isEmpty else {
            throw TrainingError("\(manifestFile.path) has no \"artifact\" (the path or URI of the trained model)")
        }
        for key in ["metrics", "parameters"] {
            if let value = manifest[key], case .object = value {} else if manifest[key] != nil {
                throw TrainingError("\(manifestFile.path): \"\(key)\" must be an object")
            }
        }
        var uri = artifact, checksum: String?
        if !artifact.contains("://") {
            let file = artifact.hasPrefix("/") ? URL(fileURLWithPath: artifact) : output.appendingPathComponent(artifact)
            guard let bytes = FileManager.default.contents(atPath: file.path) else {
                throw TrainingError("\(manifestFile.path) names artifact \(artifact), which does not exist")
            }
            uri = file.absoluteString
            checksum = bytes.sha256Hex
        }
        guard case let .object(metrics) = manifest["metrics"] ?? .object([:]), case let .object(parameters) = manifest["parameters"] ?? .object([:]) else {
            throw TrainingError("\(manifestFile.path): metrics and parameters must be objects")
        }
        return RetrainStep.Trained(
            artifactURI: uri, checksum: checksum, framework: manifest["framework"]?.stringValue ?? "command", rows: manifest["rows"]?.intValue ?? handed.rows,
            parameters: parameters.merging(["command": .array(command.map(JSONValue.string))]) { old, _ in old }, metrics: metrics,
            trainingData: handed.sha256
        )
    }
}
