import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VigilStore
import VigilWorkflow

/// An external training service, as the `retrain` step's `http` executor speaks to it.
///
/// `POST url` with `{"model", "training_start", "training_end", "idempotency_key", "parameters",
/// "training_data"}` and an `Idempotency-Key` header (the same on every attempt, so the service
/// trains once). `training_data` is what the step handed the trainer: the window's labelled rows
/// as a CSV file with its manifest (``TrainingDataExport``), written under Vigil's artifact store,
/// which the service reads from the same shared storage:
///
/// ```json
/// {"path": "/artifacts/churn/runs/12-retrain-1-data/training.csv", "manifest_path": "…/manifest.json",
///  "format": "csv", "rows": 5400, "sha256": "…", "manifest": {…}}
/// ```
///
/// The answer is either the finished job or where to poll for it:
///
/// ```json
/// {"status": "done", "artifact_uri": "s3://models/churn/42", "checksum": "…", "metrics": {…}, "parameters": {…}}
/// {"status": "running", "status_url": "https://trainer/jobs/42"}     (or a Location header)
/// ```
///
/// The step polls `status_url` every `poll_interval` until `done` or `failed` (with `error`);
/// the step's timeout bounds the wait. Network errors and 5xx are retryable failures.
struct TrainingService {
    let url: String
    let client: HTTPClient
    let pollInterval: TimeInterval

    func train(model: String, from: Date, to: Date, parameters: [String: JSONValue], handed: TrainingDataExport.Written,
               context: StepContext) async throws -> RetrainStep.Trained {
        let body: JSONValue = .object([
            "model": .string(model), "training_start": .string(MonitorStep.format(from)), "training_end": .string(MonitorStep.format(to)),
            "idempotency_key": .string(context.idempotencyKey), "parameters": .object(parameters),
            "training_data": .object([
                "path": .string(handed.file.path), "manifest_path": .string(handed.manifest.path), "format": .string("csv"),
                "rows": .number(Double(handed.rows)), "sha256": .string(handed.sha256), "manifest": handed.contents,
            ]),
        ])
        var (status, answer, location) = try await call(url, method: .POST, body: body, key: context.idempotencyKey)
        await context.log(["training service answered \(status): \(answer["status"]?.stringValue ?? "?")"])
        while true {
            switch answer["status"]?.stringValue {
            case "done":
                guard let uri = answer["artifact_uri"]?.stringValue, !uri.isEmpty else {
                    throw TrainingError("the training service reported done without an artifact_uri")
                }
                guard case let .object(metrics) = answer["metrics"] ?? .object([:]), case let .object(recorded) = answer["parameters"] ?? .object(parameters) else {
                    throw TrainingError("the training service's metrics and parameters must be objects")
                }
                return RetrainStep.Trained(artifactURI: uri, checksum: answer["checksum"]?.stringValue, framework: answer["framework"]?.stringValue ?? "http",
                                           rows: answer["rows"]?.intValue ?? handed.rows, parameters: recorded, metrics: metrics, trainingData: handed.sha256)
            case "failed":
                throw TrainingError("the training service reported failure: \(answer["error"]?.stringValue ?? "no reason given")")
            case "running", "queued", "pending", nil:
                guard let next = answer["status_url"]?.stringValue ?? location else {
                    throw TrainingError("the training service answered \(status) with neither a finished job nor a status_url to poll")
                }
                try await Task.sleep(for: .milliseconds(Int64(pollInterval * 1_000)))
                (status, answer, location) = try await call(next, method: .GET, body: nil, key: context.idempotencyKey)
                location = location ?? next
            case let other?:
                throw TrainingError("the training service answered an unknown status '\(other)'")
            }
        }
    }

    private func call(_ target: String, method: HTTPMethod, body: JSONValue?, key: String) async throws -> (Int, [String: JSONValue], String?) {
        var request = HTTPClientRequest(url: target)
        request.method = method
        request.headers.add(name: "Idempotency-Key", value: key)
        request.headers.add(name: "User-Agent", value: "vigil")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .seconds(60))
            bytes = try await response.body.collect(upTo: 1 << 20)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw TrainingError("\(method.rawValue) \(target) failed: \(AlertNotifier.describe(error))")
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else { throw TrainingError("\(method.rawValue) \(target) answered \(status): \(String(buffer: bytes).prefix(200))") }
        guard case let .object(answer)? = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: bytes)) else {
            throw TrainingError("\(method.rawValue) \(target) answered \(status) with a body that is not a JSON object")
        }
        return (status, answer, response.headers.first(name: "Location"))
    }
}
