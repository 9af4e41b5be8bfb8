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

    /// A path parameter as text.
    func path(_ name: String) throws -> String {
        guard let value = context.parameters.get(name)?.removingPercentEncoding ?? context.parameters.get(name), !value.isEmpty else {
            throw APIError.badRequest("path parameter '\(name)' is missing")
        }
        guard value.count <= 200, !value.contains("\u{0}") else { throw APIError.badRequest("path parameter '\(name)' is longer than 200 characters or holds a NUL") }
        return value
    }

    /// A path parameter that must be a positive whole number.
    func pathID(_ name: String) throws -> Int {
        guard let value = Int(try path(name)), value >= 1 else { throw APIError.badRequest("path parameter '\(name)' must be a whole number of at least 1") }
        return value
    }

    /// A query parameter as text.
    func query(_ name: String) throws -> String? {
        guard let value = request.uri.queryParameters.get(name) else { return nil }
        guard value.count <= 200, !value.contains("\u{0}") else { throw APIError.badRequest("query parameter '\(name)' is longer than 200 characters or holds a NUL") }
        return value
    }

    /// A whole-number query parameter within `range`.
    func query(_ name: String, in range: ClosedRange<Int>, default fallback: Int) throws -> Int {
        guard let text = try query(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.badRequest("query parameter '\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A time query parameter: RFC 3339, or a duration back from now (`24h`).
    func queryTime(_ name: String) throws -> Date? {
        guard let text = try query(name) else { return nil }
        if let duration = WorkflowDuration(text) { return now.addingTimeInterval(-duration.seconds) }
        if let seconds = Timestamp.parse(text) { return Date(timeIntervalSince1970: seconds) }
        throw APIError.badRequest("query parameter '\(name)' must be an RFC 3339 time or a duration such as 24h")
    }

    /// The body as a JSON object (an empty body is an empty object).
    func object() async throws -> [String: JSONValue] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: server.configuration.maximumBodyBytes)
        } catch {
            throw APIError(status: .contentTooLarge, code: "body_too_large", message: "the body is larger than \(server.configuration.maximumBodyBytes) bytes")
        }
        guard buffer.readableBytes > 0 else { return [:] }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: buffer)) else { throw APIError.badRequest("the body is not valid JSON") }
        guard case let .object(object) = value else { throw APIError.unprocessable("the body must be a JSON object") }
        guard !Self.holdsNUL(value) else { throw APIError.badRequest("the body's strings may not hold NUL characters") }
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
        guard case let .string(reason) = value, !reason.trimmingCharacters(in: .whitespaces).isEmpty, reason.count <= 2_000 else {
            throw APIError.unprocessable("'reason' must be a non-empty string of at most 2000 characters")
        }
        return reason
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
