import Foundation
import Hummingbird
import NIOCore
import VigilStore
import VigilWorkflow

/// One authenticated API request: its principal, and checked access to its parameters and body.
struct APIRequest: Sendable {
    let request: Request
    let context: BasicRequestContext
    let principal: Principal
    let server: APIServer

    var database: Database { server.database }
    var now: Date { server.clock.now() }

    /// The whole body, up to the server's `--max-body`.
    func body() async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: server.configuration.maximumBodyBytes)
        } catch {
            throw APIError(status: .contentTooLarge, code: "body_too_large",
                           message: "the body is larger than \(server.configuration.maximumBodyBytes) bytes (--max-body); send smaller batches")
        }
    }

    /// A path parameter as text.
    func path(_ name: String) throws -> String {
        guard let value = context.parameters.get(name)?.removingPercentEncoding ?? context.parameters.get(name), !value.isEmpty else {
            throw APIError.badRequest("path parameter '\(name)' is missing")
        }
        guard value.unicodeScalars.count <= 200, !value.contains("\u{0}") else { throw APIError.badRequest("path parameter '\(name)' is longer than 200 characters or holds a NUL") }
        return value
    }

    /// The `{model}` path parameter: a model name (letters, digits, `-`, `_` and `.`).
    func modelPath() throws -> String {
        let model = try path("model")
        guard model.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) }) else {
            throw APIError.badRequest("'\(model.prefix(60))' is not a model name (letters, digits, '-', '_' and '.')")
        }
        return model
    }

    /// A path parameter that must be a positive whole number: anything else names nothing (404).
    func pathID(_ name: String) throws -> Int {
        let text = try path(name)
        guard let value = Int(text), value >= 1 else {
            throw APIError.notFound("no such \(name) '\(text.prefix(40))': \(name)s are whole numbers from 1")
        }
        return value
    }

    /// A query parameter as text.
    func queryParameter(_ name: String) throws -> String? {
        guard let value = request.uri.queryParameters.get(name) else { return nil }
        guard value.unicodeScalars.count <= 200, !value.contains("\u{0}") else { throw APIError.badRequest("query parameter '\(name)' is longer than 200 characters or holds a NUL") }
        return value
    }

    /// A whole-number query parameter within `range`.
    func queryParameter(_ name: String, in range: ClosedRange<Int>, default fallback: Int) throws -> Int {
        guard let text = try queryParameter(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.badRequest("query parameter '\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// The start of a time filter: `since` (a duration back from now) and `from` (an RFC 3339
    /// time), each checked; with both, the later of the two.
    func queryStart() throws -> Date? {
        var starts: [Date] = []
        if let text = try queryParameter("since") {
            guard text.unicodeScalars.count <= 100, let duration = WorkflowDuration(text) else {
                throw APIError.badRequest("query parameter 'since' must be a duration of at most 36500d, such as 24h")
            }
            starts.append(now.addingTimeInterval(-duration.seconds))
        }
        if let text = try queryParameter("from") {
            guard text.count >= 20, text.utf8.dropFirst(4).first == UInt8(ascii: "-"), let seconds = Timestamp.parse(text) else {
                throw APIError.badRequest("query parameter 'from' must be an RFC 3339 time from 1970 to 9999, such as 2026-11-24T10:00:00Z")
            }
            starts.append(Date(timeIntervalSince1970: seconds))
        }
        return starts.max()
    }

    /// The body as a JSON object (an empty body is an empty object), holding no key outside `allowed`.
    ///
    /// - Throws: ``APIError`` 400 for a body that is not JSON, not UTF-8 or holds a NUL; 422 for one
    ///   that is not an object or has an unknown key (named, with a suggestion).
    func object(allowing allowed: [String]) async throws -> [String: JSONValue] {
        let object = try await object()
        for key in object.keys.sorted() where !allowed.contains(key) {
            throw APIError.unprocessable("unknown field '\(key.prefix(60))'\(Suggestion.hint(for: key, in: allowed)) (this operation takes \(allowed.joined(separator: ", ")))")
        }
        return object
    }

    private func object() async throws -> [String: JSONValue] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: min(server.configuration.maximumJSONBytes, server.configuration.maximumBodyBytes))
        } catch {
            throw APIError(status: .contentTooLarge, code: "body_too_large",
                           message: "the body is larger than \(min(server.configuration.maximumJSONBytes, server.configuration.maximumBodyBytes)) bytes, the limit for JSON bodies")
        }
        guard buffer.readableBytes > 0 else { return [:] }
        guard String(validating: buffer.readableBytesView, as: UTF8.self) != nil else { throw APIError.badRequest("the body is not valid UTF-8") }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: buffer)) else { throw APIError.badRequest("the body is not valid JSON") }
        guard !Self.holdsNUL(value) else { throw APIError.badRequest("the body holds a NUL character (\\u0000), which no field accepts") }
        guard case let .object(object) = value else { throw APIError.unprocessable("the body must be a JSON object") }
        return object
    }

    static func holdsNUL(_ value: JSONValue) -> Bool {
        switch value {
        case let .string(text): text.contains("\u{0}")
        case let .array(items): items.contains(where: holdsNUL)
        case let .object(fields): fields.contains { $0.key.contains("\u{0}") || holdsNUL($0.value) }
        default: false
        }
    }

    /// The `reason` every write needs.
    func reason(in body: [String: JSONValue]) throws -> String {
        guard let value = body["reason"] else { throw APIError.unprocessable("'reason' is required: say why (it is recorded)") }
        guard case let .string(reason) = value, !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, reason.unicodeScalars.count <= 2_000, !reason.contains("\u{0}") else {
            throw APIError.unprocessable("'reason' must be a non-empty string of at most 2000 characters, without NUL")
        }
        return reason
    }

    /// An optional text field of the body: at most 200 characters, no NUL (PostgreSQL cannot store it).
    func text(_ key: String, in body: [String: JSONValue], required: Bool = false) throws -> String? {
        guard let value = body[key] else {
            if required { throw APIError.unprocessable("'\(key)' is required") }
            return nil
        }
        guard case let .string(text) = value, !text.isEmpty, text.unicodeScalars.count <= 200, !text.contains("\u{0}") else {
            throw APIError.unprocessable("'\(key)' must be a string of 1 to 200 characters, without NUL")
        }
        return text
    }

    /// Refuses a model marked sensitive unless the principal was granted it.
    func checkModelVisible(_ model: String) async throws {
        guard try await WorkflowStore(database: database).sensitiveModels().contains(model), !principal.maySee(sensitiveModel: model) else { return }
        throw APIError.forbidden("model \(model) is sensitive; token of \(principal.name) is not granted it")
    }

    /// The models among `models` this principal may see.
    func visible(_ models: [String]) async throws -> Set<String> {
        let sensitive = try await WorkflowStore(database: database).sensitiveModels()
        return Set(models.filter { !sensitive.contains($0) || principal.maySee(sensitiveModel: $0) })
    }
}
