import Foundation
import Hummingbird
import NIOCore
import VigilEngine
import VigilStore
import VigilWorkflow

/// Inference-log batches and delayed labels from the serving layer, with the same checks and
/// quarantine as `vigil ingest`: CSV (`text/csv`) or JSON lines (`application/x-ndjson`).
extension APIRoutes {
    mutating func addIngestRoutes() {
        add(.post, "/api/v1/models/{model}/inferences", .ingest) { request in
            try await Self.ingest(request, labels: false)
        }
        add(.post, "/api/v1/models/{model}/labels", .ingest) { request in
            try await Self.ingest(request, labels: true)
        }
    }

    static func ingest(_ request: APIRequest, labels: Bool) async throws -> Response {
        let model = try request.modelPath()
        try await request.checkModelVisible(model)
        let contentType = request.request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let format: DataFileReader.Format
        switch contentType {
        case "text/csv": format = .csv
        case "application/x-ndjson", "application/jsonl", "application/jsonlines": format = .jsonLines
        default:
            throw APIError(status: .unsupportedMediaType, code: "unsupported_media_type", message: "send text/csv or application/x-ndjson (JSON lines)")
        }
        let role = try request.queryParameter("role") ?? "champion"
        guard InferenceIngest.roles.contains(role) else { throw APIError.badRequest("query parameter 'role' must be one of champion, challenger, shadow, canary") }
        let body = try await request.body()
        if labels { return try await loadInferences(request, model: model, batch: body, format: format, role: nil) }
        return try await loadInferences(request, model: model, batch: body, format: format, role: role)
    }

    /// Loads a batch through the same checks and quarantine as `vigil ingest`: inferences with
    /// `role`, or labels when `role` is `nil`. Answers 201 with the ingest report.
    static func loadInferences(_ request: APIRequest, model: String, batch body: ByteBuffer, format: DataFileReader.Format, role: String?) async throws -> Response {
        let source = "api:\(request.principal.name)"
        let reader: DataRecordReader
        do {
            reader = try body.withUnsafeReadableBytes { try DataRecordReader(content: $0, file: "body", format: format) }
        } catch let error as DataFileError {
            throw APIError.badRequest(error.description)
        }
        let report: IngestReport
        do {
            let spec = try await WorkflowStore(database: request.database).monitoringWorkflow(forModel: model)
            let grace = spec?.spec.data?.labelGrace ?? MonitoredData.defaultLabelGrace
            if let role {
                var options = InferenceIngest.Options(model: model, features: spec?.spec.data?.features ?? [], actor: source)
                options.labelGrace = grace
                options.role = role
                options.modelVersion = try request.queryParameter("model_version") ?? ""
                // A request is one client batch (often 50,000 rows): in smaller chunks, the next is
                // parsed while the last is copied, as a large file's are.
                options.chunkRows = 10_000
                report = try await InferenceIngest(database: request.database).load(reader, options: options)
            } else {
                report = try await LabelStore(database: request.database).load(reader, model: model, actor: source, grace: grace)
            }
        } catch let error as DataFileError {
            throw APIError.badRequest(error.description)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(report))))
    }
}
