import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import VigilEngine
import VigilStore

/// Vigil's HTTP server (`vigil serve`): health, readiness, and the receivers other systems post to.
public struct APIServer: Sendable {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        /// 0 picks a free port; ``onListening`` is told which.
        public var port = 8080
        /// Larger request bodies (inference and label batches too) are refused with 413: at once when
        /// `Content-Length` says so, while streaming otherwise.
        public var maximumBodyBytes = 64 << 20
        /// JSON bodies are held in memory whole: they are capped lower still.
        public var maximumJSONBytes = 1 << 20
        /// A connection that sends nothing between requests for this long is closed.
        public var idleTimeout: TimeAmount = .seconds(60)

        public init() {}
    }

    public let database: Database
    public let configuration: Configuration
    let clock: any EngineClock
    let logger: Logger

    public init(database: Database, configuration: Configuration = Configuration(), clock: any EngineClock = SystemClock(), logger: Logger) {
        self.database = database
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
    }

    /// The server as a service for a `ServiceGroup`; `onListening` gets the bound port.
    public func application(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        ScratchFolder.sweep(logger: logger)
        let limits = RequestLimitHandler.Limits(maximumBodyBytes: configuration.maximumBodyBytes)
        let http = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestLimitHandler(limits: limits)],
            idleTimeout: configuration.idleTimeout,
            httpDecoderConfiguration: .init(maxHeaderFieldSize: 16 << 10, maxHeaderListSize: 64 << 10, maxHeaderFieldCount: 100)
        )
        return Application(
            router: router(),
            server: .http1(configuration: http),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "vigil"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/health") { _, _ in
            JSONResponse.ok(["status": "ok"])
        }
        router.get("/ready") { _, _ in
            do {
                try await database.ping()
                return JSONResponse.ok(["status": "ready"])
            } catch {
                return JSONResponse.error(.serviceUnavailable, code: "database_unreachable", "the database cannot be reached: \(StoreError.explain(error))")
            }
        }
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.text)))
        }
        WebPages(server: self).install(on: router)
        APIRoutes(server: self).install(on: router, unauthenticated: WebPages.paths.merging(["/health": [.get], "/ready": [.get], "/openapi.yaml": [.get]]) { $1 })
        return router
    }

    /// `POST /api/v1/alertmanager`: an Alertmanager webhook receiver.
    func handleAlertmanager(_ request: Request) async -> Response {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: configuration.maximumJSONBytes)
        } catch {
            return JSONResponse.error(.contentTooLarge, code: "body_too_large", "the body is larger than \(configuration.maximumJSONBytes) bytes")
        }
        let notification: AlertmanagerNotification
        do {
            notification = try AlertmanagerNotification(json: Data(buffer: body))
        } catch {
            return JSONResponse.error(.badRequest, code: "invalid_payload", error.description)
        }
        do {
            let results = try await AlertmanagerReceiver(database: database, clock: clock).receive(notification)
            return JSONResponse.ok(["alerts": results])
        } catch {
            logger.error("could not take in an Alertmanager notification", metadata: ["error": "\(StoreError.explain(error))"])
            return JSONResponse.error(.serviceUnavailable, code: "store_unavailable", "the notification could not be recorded; Alertmanager will retry")
        }
    }
}

/// JSON responses with one error shape: `{"error": {"status": 400, "code": "…", "message": "…"}}`.
enum JSONResponse {
    static func ok(_ body: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        make(status, body)
    }

    /// A 200 a client may keep and revalidate: its `ETag` is the SHA-256 of the body, and a
    /// request whose `If-None-Match` names it gets 304 with no body (so polling costs no transfer).
    static func revalidated(_ body: some Encodable, ifNoneMatch: String?) -> Response {
        let bytes = encode(body)
        let tag = "\"\(Array(bytes).sha256Hex)\""
        let matches = ifNoneMatch?.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == tag || $0.trimmingCharacters(in: .whitespaces) == "*" } ?? false
        var headers: HTTPFields = [.eTag: tag, .cacheControl: "no-cache"]
        guard !matches else { return Response(status: .notModified, headers: headers) }
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func error(_ status: HTTPResponse.Status, code: String, _ message: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: errorBody(status, code: code, message)))
    }

    /// The bytes of an error answer, for the connection guard that answers below the router.
    static func errorBody(_ status: HTTPResponse.Status, code: String, _ message: String) -> ByteBuffer {
        ByteBuffer(bytes: encode(["error": ErrorBody(status: status.code, code: code, message: message)]))
    }

    private struct ErrorBody: Encodable {
        let status: Int
        let code: String
        let message: String
    }

    private static func make(_ status: HTTPResponse.Status, _ body: some Encodable) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: encode(body))))
    }

    private static func encode(_ body: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(body)) ?? Data(#"{"error":{"status":500,"code":"encoding","message":"the response could not be encoded"}}"#.utf8)
    }
}
