import Foundation
import VigilStore
import VigilWorkflow

/// A scoring program the `shadow_compare` step runs over the replay window, for models Vigil
/// cannot score itself (files in, predictions out).
///
/// Vigil writes the window's labelled requests, without their labels, to `replay.csv`
/// (`request_id`, `ts`, then one column per feature) with a `manifest.json`, in a folder of the
/// step's own. It then runs the program once for the champion and once for the challenger:
///
/// ```
/// PROGRAM ARGS… --model churn --version 7 --artifact-uri file:///models/churn-7.pkl --framework sklearn \
///     --input DIR/replay.csv --manifest DIR/manifest.json --output DIR/predictions-7.csv
/// VIGIL_MODEL, VIGIL_MODEL_VERSION, VIGIL_ARTIFACT_URI, VIGIL_FRAMEWORK, VIGIL_REPLAY_DATA,
/// VIGIL_REPLAY_MANIFEST, VIGIL_PREDICTIONS, VIGIL_RUN_ID, VIGIL_ATTEMPT
/// ```
///
/// The program writes the output file as CSV with a header and at least the columns
/// `request_id` and `prediction` (the predicted class, or the number for a
/// regression): exactly one row for every request of the replay file. It gets no database
/// credentials. Its output streams into the step's log; cancelling the step kills it.
struct ReplayScorer {
    let command: [String]
    let folder: URL

    /// The replay file as written.
    struct Replay {
        let file: URL
        let manifest: URL
        let requests: [String]
    }

    /// Writes `rows` (their features, named `features`) to `replay.csv` and its manifest.
    func write(rows: [ServingData.LabelledRow], features: [String], model: String, from: Date, to: Date) throws -> Replay {
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let formatter = ISO8601DateFormatter.precise
        var text = CSVText.record(["request_id", "ts"] + features) + "\n"
        for row in rows {
            text += CSVText.record([row.requestID, formatter.string(from: row.ts)] + features.map { row.features[$0].flatMap(CSVText.cell) }) + "\n"
        }
        let bytes = Data(text.utf8)
        let file = folder.appendingPathComponent("replay.csv")
        try bytes.write(to: file)
        let manifest: JSONValue = .object([
            "model": .string(model), "rows": .number(Double(rows.count)), "data_sha256": .string(bytes.sha256Hex),
            "window": .object(["start": .string(formatter.string(from: from)), "end": .string(formatter.string(from: to))]),
            "files": .array([.object(["path": .string(file.lastPathComponent), "format": .string("csv"), "rows": .number(Double(rows.count))])]),
            "features": .array(features.map(JSONValue.string)),
            "output_columns": .array([.string("request_id"), .string("prediction")]),
        ])
        let manifestFile = folder.appendingPathComponent("manifest.json")
        try JSONEncoder.sorted.encode(manifest).write(to: manifestFile)
        return Replay(file: file, manifest: manifestFile, requests: rows.map(\.requestID))
    }

    /// Runs the program for `version` over `replay` and returns its prediction for every request.
    func predictions(of version: ModelVersion, replay: Replay, context: StepContext) async throws -> [String: String] {
        try await predictions(of: version, replay: replay, runID: context.runID, attempt: context.attempt) { lines, stream in
            await context.log(lines, stream: stream)
        }
    }

    /// Runs the program for `version` over `replay` for attempt `attempt` of run `runID`, its
    /// output into `output`, and returns its prediction for every request.
    func predictions(
        of version: ModelVersion, replay: Replay, runID: Int, attempt: Int, output log: HandedProgram.OutputSink
    ) async throws -> [String: String] {
        let output = folder.appendingPathComponent("predictions-\(version.version).csv")
        try? FileManager.default.removeItem(at: output)
        await log(["scoring \(replay.requests.count) requests with version \(version.version) (\(version.artifactURI))"], "log")
        try await HandedProgram(command: command, role: "scorer", failure: ScoringError.init).run(
            arguments: [
                "--model", version.model, "--version", String(version.version), "--artifact-uri", version.artifactURI, "--framework", version.framework,
                "--input", replay.file.path, "--manifest", replay.manifest.path, "--output", output.path,
            ],
            variables: [
                "VIGIL_MODEL": version.model, "VIGIL_MODEL_VERSION": String(version.version), "VIGIL_ARTIFACT_URI": version.artifactURI,
                "VIGIL_FRAMEWORK": version.framework, "VIGIL_REPLAY_DATA": replay.file.path, "VIGIL_REPLAY_MANIFEST": replay.manifest.path,
                "VIGIL_PREDICTIONS": output.path, "VIGIL_RUN_ID": String(runID), "VIGIL_ATTEMPT": String(attempt),
            ],
            output: log
        )
        return try Self.read(output, expecting: replay.requests, version: version.version)
    }

    /// The predictions in `file`: one per expected request, each request once.
    static func read(_ file: URL, expecting requests: [String], version: Int) throws -> [String: String] {
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw ScoringError("the scorer wrote no predictions for version \(version): expected \(file.path)")
        }
        let reader: DataRecordReader
        do {
            reader = try DataRecordReader(path: file.path, format: .csv)
        } catch {
            throw ScoringError("the scorer's predictions for version \(version): \(error)")
        }
        let expected = Set(requests)
        var predictions: [String: String] = [:]
        predictions.reserveCapacity(requests.count)
        do {
            while let record = try reader.next() {
                guard let requestColumn = reader.columnNames.firstIndex(of: "request_id"), let predictionColumn = reader.columnNames.firstIndex(of: "prediction") else {
                    throw ScoringError("\(file.path):\(record.line): the scorer's predictions need the columns request_id and prediction (found \(reader.columnNames.joined(separator: ", ")))")
                }
                guard let request = record.text(requestColumn), !request.isEmpty else {
                    throw ScoringError("\(file.path):\(record.line): no request_id")
                }
                guard expected.contains(request) else {
                    throw ScoringError("\(file.path):\(record.line): request \(request) is not in the replay file")
                }
                guard let prediction = record.text(predictionColumn), !record.isMissing(predictionColumn) else {
                    throw ScoringError("\(file.path):\(record.line): no prediction for request \(request)")
                }
                guard predictions.updateValue(prediction, forKey: request) == nil else {
                    throw ScoringError("\(file.path):\(record.line): request \(request) is scored twice")
                }
            }
        } catch let error as DataFileError {
            throw ScoringError(error.description)
        }
        if let missing = requests.first(where: { predictions[$0] == nil }) {
            let count = requests.count - predictions.count
            throw ScoringError("\(file.path): no prediction for \(count) of \(requests.count) replayed requests (the first: \(missing))")
        }
        return predictions
    }
}

/// Why a `command` scorer's predictions could not be had: it did not start, failed, or wrote a
/// file that does not answer every replayed request once.
public struct ScoringError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
