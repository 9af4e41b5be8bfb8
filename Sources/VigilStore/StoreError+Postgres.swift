import NIOCore
import NIOPosix
import PostgresNIO
#if canImport(Glibc)
import Glibc
#endif

extension StoreError {
    /// A one-line explanation of a PostgreSQL or network error, without secrets.
    ///
    /// `PSQLError.description` is deliberately generic; the server's own message and the
    /// underlying network error are what a person needs to act on.
    public static func explain(_ error: any Error) -> String {
        if let error = error as? StoreError { return error.message }
        if let error = error as? PostgresTransactionError {
            return explain(error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError ?? error)
        }
        guard let error = error as? PSQLError else { return String(describing: error) }
        if let server = error.serverInfo, let message = server[.message] {
            var text = message
            if let detail = server[.detail] { text += " (\(detail))" }
            if let code = server[.sqlState] { text += " [SQLSTATE \(code)]" }
            return text
        }
        if let underlying = error.underlying {
            return explainNetwork(underlying)
        }
        switch error.code {
        case .serverClosedConnection: return "the server closed the connection"
        case .queryCancelled: return "the query was cancelled"
        case .clientClosedConnection: return "the connection was closed"
        default: return "PostgreSQL error: \(error.code)"
        }
    }

    /// The SQLSTATE code of a server error, if `error` is one.
    public static func sqlState(of error: any Error) -> String? {
        if let error = error as? StoreError { return error.sqlState }
        if let error = error as? PostgresTransactionError {
            return (error.closureError ?? error.commitError).flatMap(sqlState(of:))
        }
        return (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    private static func explainNetwork(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError, let last = error.connectionErrors.last?.error {
            return explainNetwork(last)
        }
        if let error = error as? IOError {
            return String(cString: strerror(error.errnoCode))
        }
        return oneLine(String(describing: error))
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
