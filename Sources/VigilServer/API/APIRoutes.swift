import Foundation
import Hummingbird
import HTTPTypes
import VigilStore

/// The authenticated operations of `/api/v1`: each with the role it needs. Every handler's error
/// becomes a JSON error; a path served with other methods answers 405 with `Allow`.
struct APIRoutes {
    typealias Handler = @Sendable (APIRequest) async throws -> Response

    struct Operation {
        let method: HTTPRequest.Method
        let path: String
        /// The principal needs any one of these.
        let roles: [AccessRole]
        let handler: Handler
    }

    let server: APIServer
    private(set) var operations: [Operation] = []

    init(server: APIServer) {
        self.server = server
        addRunRoutes()
        addAlertRoutes()
        addNotificationRoutes()
        addModelRoutes()
        addAuditRoutes()
        addIngestRoutes()
        addIncidentRoutes()
        addCloudEventRoutes()
    }

    mutating func add(_ method: HTTPRequest.Method, _ path: String, _ role: AccessRole, _ handler: @escaping Handler) {
        add(method, path, anyOf: [role], handler)
    }

    /// An operation any one of `roles` may call.
    mutating func add(_ method: HTTPRequest.Method, _ path: String, anyOf roles: [AccessRole], _ handler: @escaping Handler) {
        operations.append(Operation(method: method, path: path, roles: roles, handler: handler))
    }

    /// Registers every operation on `router`, and 405 answers for the other methods of each path
    /// (`unauthenticated` lists the paths served without a token, with their methods).
    func install(on router: Router<BasicRequestContext>, unauthenticated: [String: [HTTPRequest.Method]]) {
        let server = self.server
        var methodsByPath = unauthenticated
        for operation in operations {
            methodsByPath[operation.path, default: []].append(operation.method)
            router.on(RouterPath(operation.path), method: operation.method) { request, context in
                do {
                    let principal = try await server.authenticate(request, needing: operation.roles, for: "\(operation.method) \(operation.path)")
                    return try await operation.handler(APIRequest(request: request, context: context, principal: principal, server: server))
                } catch {
                    let answer = APIError.from(error)
                    if answer.status == .serviceUnavailable { server.logger.error("API request failed", metadata: ["error": "\(StoreError.explain(error))"]) }
                    return answer.response
                }
            }
        }
        router.add(middleware: MethodGuard(methodsByPath: methodsByPath))
    }
}

/// Answers a request whose path exists but not with its method with 405 and `Allow`, and any
/// other unknown request with a JSON 404.
struct MethodGuard: RouterMiddleware {
    typealias Context = BasicRequestContext

    /// Path patterns split into segments (`{name}` matches any one segment), with their methods.
    let patterns: [(segments: [Substring], methods: [String])]

    init(methodsByPath: [String: [HTTPRequest.Method]]) {
        patterns = methodsByPath.map { path, methods in (path.split(separator: "/"), methods.map(\.rawValue).sorted()) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let segments = request.uri.path.split(separator: "/")
            let allowed = patterns.first { pattern in
                pattern.segments.count == segments.count
                    && zip(pattern.segments, segments).allSatisfy { expected, given in expected.hasPrefix("{") || expected == given }
            }?.methods
            guard let allowed else { return APIError.notFound("no such path: \(request.uri.path)").response }
            var response = APIError(status: .methodNotAllowed, code: "method_not_allowed",
                                    message: "\(request.method) is not allowed on \(request.uri.path); use \(allowed.joined(separator: ", "))").response
            response.headers[.allow] = allowed.joined(separator: ", ")
            return response
        }
    }
}

extension APIServer {
    /// The token of an `Authorization: Bearer …` header.
    static func bearerToken(of request: Request) -> String? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        return String(header.dropFirst(7))
    }

    /// The principal behind the request's bearer token, if it holds `role`.
    ///
    /// - Throws: ``APIError`` 401 without a valid token, 403 without the role.
    func authenticate(_ request: Request, needing roles: [AccessRole], for operation: String) async throws -> Principal {
        guard let token = Self.bearerToken(of: request) else {
            throw APIError.unauthorized("an API token is required: Authorization: Bearer vgl_… (`vigil tokens create`)")
        }
        guard let principal = try await TokenStore(database: database).authenticate(token, now: clock.now()) else {
            throw APIError.unauthorized("the API token is unknown, revoked or expired")
        }
        guard roles.contains(where: principal.has) else {
            let needed = roles.map(\.rawValue).joined(separator: " or ")
            throw APIError.forbidden("\(principal.name) (roles \(principal.roles.sorted().map(\.rawValue).joined(separator: ", "))) lacks the \(needed) role that \(operation) needs")
        }
        return principal
    }
}
