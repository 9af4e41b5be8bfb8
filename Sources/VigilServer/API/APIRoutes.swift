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
        let role: AccessRole
        let handler: Handler
    }

    let server: APIServer
    private(set) var operations: [Operation] = []

    init(server: APIServer) {
        self.server = server
        addRunRoutes()
        addAlertRoutes()
        addModelRoutes()
        addAuditRoutes()
    }

    mutating func add(_ method: HTTPRequest.Method, _ path: String, _ role: AccessRole, _ handler: @escaping Handler) {
        operations.append(Operation(method: method, path: path, role: role, handler: handler))
    }

    /// Registers every operation on `router`, and 405 answers for the other methods of each path.
    func install(on router: Router<BasicRequestContext>) {
        let server = self.server
        var methodsByPath: [String: [HTTPRequest.Method]] = [:]
        for operation in operations {
            methodsByPath[operation.path, default: []].append(operation.method)
            router.on(RouterPath(operation.path), method: operation.method) { request, context in
                do {
                    let principal = try await server.authenticate(request, needing: operation.role, for: "\(operation.method) \(operation.path)")
                    return try await operation.handler(APIRequest(request: request, context: context, principal: principal, server: server))
                } catch {
                    let answer = APIError.from(error)
                    if answer.status == .serviceUnavailable { server.logger.error("API request failed", metadata: ["error": "\(StoreError.explain(error))"]) }
                    return answer.response
                }
            }
        }
        for (path, methods) in methodsByPath {
            for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] where !methods.contains(method) {
                router.on(RouterPath(path), method: method) { _, _ in
                    var response = APIError(status: .methodNotAllowed, code: "method_not_allowed",
                                            message: "\(method) is not allowed on \(path); use \(methods.map(\.rawValue).joined(separator: ", "))").response
                    response.headers[.allow] = methods.map(\.rawValue).joined(separator: ", ")
                    return response
                }
            }
        }
    }
}

extension APIServer {
    /// The principal behind the request's bearer token, if it holds `role`.
    ///
    /// - Throws: ``APIError`` 401 without a valid token, 403 without the role.
    func authenticate(_ request: Request, needing role: AccessRole, for operation: String) async throws -> Principal {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError.unauthorized("an API token is required: Authorization: Bearer vgl_… (`vigil tokens create`)")
        }
        guard let principal = try await TokenStore(database: database).authenticate(String(header.dropFirst(7)), now: clock.now()) else {
            throw APIError.unauthorized("the API token is unknown, revoked or expired")
        }
        guard principal.has(role) else {
            throw APIError.forbidden("\(principal.name) (roles \(principal.roles.sorted().map(\.rawValue).joined(separator: ", "))) lacks the \(role.rawValue) role that \(operation) needs")
        }
        return principal
    }
}
