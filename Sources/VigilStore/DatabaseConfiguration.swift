import Foundation
import NIOSSL
import PostgresNIO

/// Where Vigil's PostgreSQL database is and how to reach it.
///
/// Built from a `postgres://` URL (``init(url:)``) or from the standard libpq `PG*`
/// environment variables (``init(libpqEnvironment:)``).
public struct DatabaseConfiguration: Sendable, Equatable {
    /// How the connection is encrypted, following libpq's `sslmode` names.
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require, verifyCA = "verify-ca", verifyFull = "verify-full"
    }

    /// A server's address.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// The first server (the only one, unless ``alternates`` names more).
    public var host: String
    public var port: Int
    /// Further servers of a replicated cluster, as in libpq's multi-host URL
    /// (`postgres://user@db1:5432,db2:5432/vigil`): Vigil uses whichever of them is the primary
    /// (not in recovery), and moves to the new primary when a standby is promoted.
    public var alternates: [Endpoint] = []

    /// Every server, the first one first.
    public var endpoints: [Endpoint] { [Endpoint(host: host, port: port)] + alternates }
    public var username: String
    public var password: String?
    public var database: String
    public var tlsMode: TLSMode
    /// A CA bundle to verify the server certificate against (`sslrootcert`).
    public var rootCertificatePath: String?

    public init(
        host: String = "127.0.0.1",
        port: Int = 5432,
        username: String,
        password: String? = nil,
        database: String,
        tlsMode: TLSMode = .prefer,
        rootCertificatePath: String? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tlsMode = tlsMode
        self.rootCertificatePath = rootCertificatePath
    }

    /// Parses `postgres://user:password@host:port/database?sslmode=…&sslrootcert=…`.
    ///
    /// - Throws: ``StoreError`` with code `.invalidConfiguration` naming what is wrong.
    public init(url given: String) throws(StoreError) {
        let (string, alternates) = try Self.splittingHosts(given)
        guard let components = URLComponents(string: string),
              let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else {
            throw StoreError(.invalidConfiguration, "database URL must look like postgres://user:password@host:5432/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw StoreError(.invalidConfiguration, "database URL has no host")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        self.init(
            host: host,
            port: components.port ?? 5432,
            username: components.user ?? ProcessInfo.processInfo.environment["USER"] ?? "postgres",
            password: components.password,
            database: database.isEmpty ? (components.user ?? "postgres") : database
        )
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    let allowed = TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw StoreError(.invalidConfiguration, "sslmode must be one of \(allowed)")
                }
                tlsMode = mode
            case "sslrootcert":
                rootCertificatePath = item.value
            case "target_session_attrs":
                // Vigil writes, so it always wants the primary; libpq's names for that are accepted.
                guard ["read-write", "primary"].contains(item.value ?? "") else {
                    throw StoreError(.invalidConfiguration, "target_session_attrs must be read-write or primary: Vigil writes to its database")
                }
            default:
                throw StoreError(.invalidConfiguration, "unsupported database URL option '\(item.name)' (supported: sslmode, sslrootcert, target_session_attrs)")
            }
        }
        self.alternates = alternates
    }

    /// Splits libpq's multi-host form, `postgres://user@a:5432,b:5433/db`, into a one-host URL
    /// (the first) and the further servers.
    private static func splittingHosts(_ url: String) throws(StoreError) -> (String, [Endpoint]) {
        guard let schemeEnd = url.range(of: "://") else { return (url, []) }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        let hostList = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? authority
        let hosts = hostList.split(separator: ",", omittingEmptySubsequences: false)
        guard hosts.count > 1 else { return (url, []) }
        var alternates: [Endpoint] = []
        for text in hosts.dropFirst() {
            var host = Substring(text), port = 5432
            if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]") {
                guard let value = Int(text[text.index(after: colon)...]), (1...65535).contains(value) else {
                    throw StoreError(.invalidConfiguration, "database URL host '\(text)' has no valid port")
                }
                host = text[..<colon]
                port = value
            }
            host = host.hasPrefix("[") && host.hasSuffix("]") ? host.dropFirst().dropLast() : host
            guard !host.isEmpty else { throw StoreError(.invalidConfiguration, "database URL has an empty host in its list '\(hostList)'") }
            alternates.append(Endpoint(host: String(host), port: port))
        }
        let first = url[..<hostList.startIndex] + hosts[0] + url[hostList.endIndex...]
        return (String(first), alternates)
    }

    /// Reads `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE` and `PGSSLROOTCERT`.
    ///
    /// - Returns: `nil` when `PGHOST` is not set.
    public init?(libpqEnvironment environment: [String: String]) throws(StoreError) {
        guard let host = environment["PGHOST"], !host.isEmpty else { return nil }
        let user = environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        var port = 5432
        if let text = environment["PGPORT"] {
            guard let value = Int(text), (1...65535).contains(value) else {
                throw StoreError(.invalidConfiguration, "PGPORT must be a port number, not '\(text)'")
            }
            port = value
        }
        var tlsMode = TLSMode.prefer
        if let text = environment["PGSSLMODE"] {
            guard let mode = TLSMode(rawValue: text) else {
                throw StoreError(.invalidConfiguration, "PGSSLMODE must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            tlsMode = mode
        }
        self.init(
            host: host,
            port: port,
            username: user,
            password: environment["PGPASSWORD"],
            database: environment["PGDATABASE"] ?? user,
            tlsMode: tlsMode,
            rootCertificatePath: environment["PGSSLROOTCERT"]
        )
    }

    /// The same configuration pointing at another database on the same server.
    public func with(database: String) -> DatabaseConfiguration {
        var copy = self
        copy.database = database
        return copy
    }

    /// The configuration as a URL, with the password masked unless `revealingPassword` is set.
    public func url(revealingPassword: Bool = false) -> String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = username
        if let password { components.password = revealingPassword ? password : "***" }
        components.host = host
        components.port = port
        components.path = "/" + database
        if tlsMode != .prefer { components.queryItems = [URLQueryItem(name: "sslmode", value: tlsMode.rawValue)] }
        let single = components.string ?? "postgres://\(host):\(port)/\(database)"
        guard !alternates.isEmpty, let first = components.percentEncodedHost.map({ "\($0):\(port)" }),
              let range = single.range(of: first, options: .backwards, range: single.range(of: "://").map { $0.upperBound ..< single.endIndex }) else { return single }
        return single.replacingCharacters(in: range, with: endpoints.map(\.description).joined(separator: ","))
    }

    /// The same settings pointing at one of the ``endpoints`` first.
    public func at(_ endpoint: Endpoint) -> DatabaseConfiguration {
        var copy = self
        copy.host = endpoint.host
        copy.port = endpoint.port
        copy.alternates = endpoints.filter { $0 != endpoint }
        return copy
    }

    /// The postgres-nio client configuration for these settings.
    func clientConfiguration() throws(StoreError) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: try tls()
        )
        configuration.options.connectTimeout = .seconds(Self.connectTimeout.nanoseconds / 1_000_000_000)
        configuration.options.additionalStartupParameters = Self.startupParameters
        return configuration
    }

    /// How long opening a connection may take, pooled or not.
    static let connectTimeout = TimeAmount.seconds(5)

    /// Vigil's tables live in `public`; the `vigil` schema holds only the stable views for other
    /// readers (`vigil.labelled_inferences`). PostgreSQL's default search path puts `"$user"`
    /// first, so for a role named `vigil` every unqualified CREATE would land in that schema:
    /// Vigil's own sessions search `public` first.
    static let startupParameters = [("search_path", #"public, "$user""#)]

    /// The single-connection configuration used to check the server is reachable before pooling.
    func connectionConfiguration() throws(StoreError) -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch tlsMode {
            case .disable: tls = .disable
            case .allow, .prefer: tls = .prefer(try NIOSSLContext(configuration: try tlsConfiguration()))
            case .require, .verifyCA, .verifyFull: tls = .require(try NIOSSLContext(configuration: try tlsConfiguration()))
            }
        } catch {
            throw StoreError(.invalidConfiguration, "cannot set up TLS: \(error)")
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls
        )
        configuration.options.connectTimeout = Self.connectTimeout
        configuration.options.additionalStartupParameters = Self.startupParameters
        return configuration
    }

    private func tls() throws(StoreError) -> PostgresClient.Configuration.TLS {
        switch tlsMode {
        case .disable: .disable
        case .allow, .prefer: .prefer(try tlsConfiguration())
        case .require, .verifyCA, .verifyFull: .require(try tlsConfiguration())
        }
    }

    private func tlsConfiguration() throws(StoreError) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch tlsMode {
        case .disable, .allow, .prefer, .require:
            // libpq's require does not verify the certificate; neither do we.
            configuration.certificateVerification = .none
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
        }
        if let rootCertificatePath {
            configuration.trustRoots = .file(rootCertificatePath)
        }
        return configuration
    }
}
