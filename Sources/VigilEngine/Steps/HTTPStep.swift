import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VigilWorkflow

/// `http`: calls an endpoint. Every attempt of the step sends the same `Idempotency-Key` header, so
/// a service that honours it acts once however often the call is retried. Network errors, 5xx
/// and 429 are retryable failures (the step's retry policy decides how often); other statuses
/// outside `expect_status` fail for good. A JSON response body becomes the `body` output.
public struct HTTPStep: WorkflowStep {
    public struct Parameters: Decodable, Sendable {
        public let url: String
        public let method: String?
        public let headers: [String: String]?
        public let body: JSONValue?
        public let expectStatus: [Int]?

        enum CodingKeys: String, CodingKey {
            case url, method, headers, body
            case expectStatus = "expect_status"
        }
    }

    public static var schema: StepSchema { StepCatalog.builtIn.schemas["http"]! }

    /// Responses larger than this are refused rather than read into memory.
    static let maximumResponseBytes = 4 << 20

    let client: HTTPClient

    public init(client: HTTPClient = .shared) {
        self.client = client
    }

    public func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        guard let url = URL(string: parameters.url), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            return .failed("'\(parameters.url)' is not an http or https URL", retryable: false)
        }
        var request = HTTPClientRequest(url: parameters.url)
        request.method = HTTPMethod(rawValue: (parameters.method ?? (parameters.body == nil ? "GET" : "POST")).uppercased())
        for (name, value) in parameters.headers ?? [:] { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Idempotency-Key", value: context.idempotencyKey)
        request.headers.replaceOrAdd(name: "User-Agent", value: "vigil")
        if let body = parameters.body {
            request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .seconds(60))
            bytes = try await response.body.collect(upTo: Self.maximumResponseBytes)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return .failed("\(request.method.rawValue) \(parameters.url) failed: \(error)", retryable: true)
        }
        let status = Int(response.status.code)
        let text = String(buffer: bytes)
        let expected = parameters.expectStatus.map { $0.contains(status) } ?? (200..<300).contains(status)
        guard expected else {
            let retryable = status >= 500 || status == 429
            return .failed("\(request.method.rawValue) \(parameters.url) answered \(status): \(text.prefix(200))", retryable: retryable)
        }
        let body = (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .string(text)
        return .completed(["status": .number(Double(status)), "body": body])
    }
}
