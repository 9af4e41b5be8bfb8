import Foundation
import Hummingbird
import NIOCore
import VigilStore

/// An error answered as JSON with one stable shape:
/// `{"error": {"status": 404, "code": "not_found", "message": "…"}}`.
struct APIError: Error, Sendable {
    let status: HTTPResponse.Status
    let code: String
    let message: String

    static func badRequest(_ message: String) -> APIError { APIError(status: .badRequest, code: "bad_request", message: message) }
    static func unauthorized(_ message: String) -> APIError { APIError(status: .unauthorized, code: "unauthorized", message: message) }
    static func forbidden(_ message: String) -> APIError { APIError(status: .forbidden, code: "forbidden", message: message) }
    static func notFound(_ message: String) -> APIError { APIError(status: .notFound, code: "not_found", message: message) }
    static func conflict(_ message: String) -> APIError { APIError(status: .conflict, code: "conflict", message: message) }
    static func unprocessable(_ message: String) -> APIError { APIError(status: .unprocessableContent, code: "validation_failed", message: message) }

    /// The answer for any error a handler throws: API errors as they are, store errors by kind,
    /// anything else as 503 (the database, most likely) without internals.
    static func from(_ error: any Error) -> APIError {
        if let error = error as? APIError { return error }
        if let error = error as? StoreError {
            switch error.code {
            case .notFound: return .notFound(error.message)
            case .conflict: return .conflict(error.message)
            case .forbidden: return .forbidden(error.message)
            default: break
            }
        }
        return APIError(status: .serviceUnavailable, code: "unavailable", message: "the request could not be completed; try again")
    }

    var response: Response {
        JSONResponse.error(status, code: code, message)
    }
}
