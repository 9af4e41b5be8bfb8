import PostgresNIO

/// Creating and dropping whole databases on the server `Database` is connected to, for tooling
/// that gives each user (or each test) a database of its own.
extension Database {
    /// Creates database `name` as a copy of `template`.
    ///
    /// - Throws: ``StoreError`` `.invalidConfiguration` when a name is not a plain identifier
    ///   (lower-case letters, digits, underscores), or what the server says.
    public func createDatabase(_ name: String, template: String) async throws {
        try Self.checkIdentifier(name)
        try Self.checkIdentifier(template)
        try await client.query("CREATE DATABASE \(unescaped: name) TEMPLATE \(unescaped: template)", logger: logger)
    }

    /// Drops database `name` if it exists, closing its sessions.
    public func dropDatabase(_ name: String) async throws {
        try Self.checkIdentifier(name)
        try await client.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: logger)
    }

    /// Whether the server has a database called `name`.
    public func databaseExists(_ name: String) async throws -> Bool {
        try await client.query("SELECT 1 FROM pg_database WHERE datname = \(name)", logger: logger).decode(Int.self).first { _ in true } != nil
    }

    private static func checkIdentifier(_ name: String) throws(StoreError) {
        let allowed = name.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") }
        guard allowed, let first = name.utf8.first, !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")), name.utf8.count <= 63 else {
            throw StoreError(.invalidConfiguration, "'\(name)' is not a database name Vigil creates: use lower-case letters, digits and underscores, 63 at most")
        }
    }
}
