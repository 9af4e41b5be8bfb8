import Foundation
import Hummingbird
import VigilStore
import VigilWorkflow

/// One CloudEvent (specification 1.0) as KServe's payload logger posts it over HTTP, in binary
/// mode (attributes in `ce-` headers, the data as the body) or structured mode
/// (`application/cloudevents+json`: attributes and `data` in one JSON object).
struct CloudEvent: Sendable, Equatable {
    let id: String
    let type: String
    let source: String
    /// The `time` attribute, when the event has one.
    let time: Date?
    /// The data: the model server's request or response body.
    let data: JSONValue

    /// Which half of an inference the event carries, from its type
    /// (`org.kubeflow.serving.inference.request` or `….response`).
    var part: InferenceEventParts.Part? {
        if type.hasSuffix(".request") || type == "request" { return .request }
        if type.hasSuffix(".response") || type == "response" { return .response }
        return nil
    }

    /// The event in `body` with `headers`.
    ///
    /// - Throws: ``APIError`` (400) naming the attribute that is missing or malformed.
    init(headers: HTTPFields, body: [UInt8]) throws {
        let contentType = headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        func json(_ bytes: [UInt8], _ what: String) throws -> JSONValue {
            do {
                return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
            } catch {
                throw APIError.badRequest("\(what) is not JSON")
            }
        }
        var attributes: [String: String] = [:]
        let data: JSONValue
        if contentType == "application/cloudevents+json" {
            guard case let .object(event) = try json(body, "the structured CloudEvent") else {
                throw APIError.badRequest("a structured CloudEvent must be a JSON object")
            }
            for key in ["specversion", "id", "type", "source", "time"] {
                guard let value = event[key] else { continue }
                guard let text = value.stringValue else { throw APIError.badRequest("CloudEvent attribute '\(key)' must be a string") }
                attributes[key] = text
            }
            if let value = event["data"] {
                // `data` may hold the JSON itself, or the JSON as a string.
                if case let .string(text) = value { data = try json(Array(text.utf8), "CloudEvent 'data'") } else { data = value }
            } else if let encoded = event["data_base64"]?.stringValue {
                guard let bytes = Data(base64Encoded: encoded) else { throw APIError.badRequest("CloudEvent 'data_base64' is not base64") }
                data = try json(Array(bytes), "CloudEvent 'data_base64'")
            } else {
                throw APIError.badRequest("the CloudEvent has no 'data' (the model server's request or response body)")
            }
        } else {
            guard contentType == "application/json" || contentType.isEmpty else {
                throw APIError(status: .unsupportedMediaType, code: "unsupported_media_type",
                               message: "send a binary-mode CloudEvent with JSON data (application/json) or a structured one (application/cloudevents+json)")
            }
            for key in ["specversion", "id", "type", "source", "time"] {
                if let field = headers.first(where: { $0.name.canonicalName == "ce-" + key }) { attributes[key] = field.value }
            }
            data = try json(body, "the event's data (the body)")
        }
        // PostgreSQL cannot store NUL in text or JSON.
        guard !APIRequest.holdsNUL(data) else { throw APIError.badRequest("the event's data holds a NUL character (\\u0000)") }
        guard attributes["specversion"] == "1.0" else {
            throw APIError.badRequest("CloudEvent attribute 'specversion' must be \"1.0\" (header ce-specversion in binary mode)")
        }
        for key in ["id", "type", "source"] where (attributes[key] ?? "").isEmpty {
            throw APIError.badRequest("CloudEvent attribute '\(key)' is required (header ce-\(key) in binary mode)")
        }
        let id = attributes["id"]!
        guard id.unicodeScalars.count <= 200, !id.contains("\u{0}") else { throw APIError.badRequest("CloudEvent attribute 'id' must be at most 200 characters, without NUL") }
        var time: Date?
        if let text = attributes["time"] {
            guard let seconds = Timestamp.parse(text) else { throw APIError.badRequest("CloudEvent attribute 'time' must be an RFC 3339 time") }
            time = Date(timeIntervalSince1970: seconds)
        }
        self.id = id
        self.type = attributes["type"]!
        self.source = attributes["source"]!
        self.time = time
        self.data = data
    }
}
