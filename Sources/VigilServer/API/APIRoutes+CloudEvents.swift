import Foundation
import Hummingbird
import NIOCore
import VigilStore
import VigilWorkflow

/// KServe's payload logger: the request and response of each inference as two CloudEvents with
/// one id, joined here into inference-log rows by the workflow's `data.payload` mapping.
extension APIRoutes {
    mutating func addCloudEventRoutes() {
        add(.post, "/api/v1/models/{model}/cloudevents", .ingest) { request in
            let model = try request.modelPath()
            try await request.checkModelVisible(model)
            let event = try CloudEvent(headers: request.request.headers, body: Array(buffer: try await request.body()))
            guard let part = event.part else {
                throw APIError.badRequest("CloudEvent type '\(event.type.prefix(100))' is neither a request nor a response (org.kubeflow.serving.inference.request or .response)")
            }
            let data = try await WorkflowStore(database: request.database).monitoringWorkflow(forModel: model)?.spec.data
            let mapping = data?.payload ?? PayloadMapping()
            let features = data?.features.map(\.name) ?? []
            // Each half is checked as it comes, so whoever sent a bad one hears of it.
            do throws(PayloadMappingError) {
                switch part {
                case .request: _ = try InferencePayload.featureRows(of: event.data, mapping: mapping, features: features)
                case .response: _ = try InferencePayload.predictions(of: event.data, mapping: mapping)
                }
            } catch {
                throw APIError.badRequest("the \(part.rawValue)'s \(error.description)")
            }
            let parts = InferenceEventParts(database: request.database)
            guard let pair = try await parts.add(model: model, id: event.id, part: part, body: try Self.jsonText(event.data), time: event.time, now: request.now) else {
                return JSONResponse.ok(JSONValue.object(["status": .string("waiting"), "id": .string(event.id), "part": .string(part.rawValue)]), status: .accepted)
            }
            let records: [[String: JSONValue]]
            do {
                // This event's half is at hand; only the other one is read back.
                let other = try JSONDecoder().decode(JSONValue.self, from: Data((part == .request ? pair.response : pair.request).utf8))
                records = try InferencePayload.records(
                    id: pair.id, time: ISO8601DateFormatter.precise.string(from: pair.time ?? request.now),
                    request: part == .request ? event.data : other, response: part == .response ? event.data : other,
                    mapping: mapping, features: features
                )
            } catch let error as PayloadMappingError {
                try await parts.remove(model: model, id: pair.id)
                throw APIError.badRequest("request \(pair.id): \(error.description)")
            }
            let lines = try records.map { try Self.jsonText(.object($0)) }.joined(separator: "\n") + "\n"
            let report = try await Self.loadInferences(request, model: model, batch: ByteBuffer(string: lines), format: .jsonLines, role: "champion")
            try await parts.remove(model: model, id: pair.id)
            return report
        }
    }

    static func jsonText(_ value: JSONValue) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
