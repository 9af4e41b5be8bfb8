import Foundation
import PostgresNIO
import VigilWorkflow

/// What a principal may do. Each role but `ingest` includes `viewer`; `operator` includes
/// `ingest`; `admin` includes every role.
public enum AccessRole: String, Sendable, Codable, CaseIterable, Comparable {
    /// Logs predictions (served and shadow answers) and labels, and reads a model's routing: what
    /// a serving process needs, and nothing else (no metrics, runs, alerts or web view).
    case ingest
    /// Metrics, runs, models, alerts.
    case viewer
    /// Adds the audit log and full history.
    case auditor
    /// Triggers, cancels and retries runs; acknowledges, resolves and silences alerts; ingests data.
    case `operator`
    /// Approves and rejects gated steps and promotions; moves aliases and rolls back.
    case approver
    /// Tokens and workflows.
    case admin

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Who is acting, with what roles, and which sensitive models they may see.
public struct Principal: Sendable, Equatable {
    public let name: String
    public let roles: Set<AccessRole>
    /// Sensitive models this principal may see; `*` means all.
    public let sensitiveModels: Set<String>

    public init(name: String, roles: Set<AccessRole>, sensitiveModels: Set<String> = []) {
        self.name = name
        self.roles = roles
        self.sensitiveModels = sensitiveModels
    }

    /// Whether the principal holds `role`, directly or through another: `admin` holds every
    /// role, every role but `ingest` holds `viewer`, and `operator` holds `ingest`.
    public func has(_ role: AccessRole) -> Bool {
        if roles.contains(.admin) || roles.contains(role) { return true }
        switch role {
        case .viewer: return !roles.subtracting([.ingest]).isEmpty
        case .ingest: return roles.contains(.operator)
        default: return false
        }
    }

    /// Whether the principal may see a model marked sensitive.
    public func maySee(sensitiveModel model: String) -> Bool {
        roles.contains(.admin) || sensitiveModels.contains("*") || sensitiveModels.contains(model)
    }
}

/// An API token as listed (never its secret).
public struct TokenRecord: Sendable {
    public let id: Int
    public let principal: String
    public let roles: [AccessRole]
    public let sensitiveModels: [String]
    public let prefix: String
    public let createdAt: Date
    public let createdBy: String
    public let expiresAt: Date?
    public let revokedAt: Date?
    public let revokedBy: String?
    public let lastUsedAt: Date?
}

/// API tokens: random, shown once, stored only as their SHA-256.
public struct TokenStore: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Creates a token for `principal`.
    ///
    /// - Returns: the token's id and its secret, which is not stored and cannot be shown again.
    public func create(
        principal: String, roles: Set<AccessRole>, sensitiveModels: Set<String> = [], expiresAt: Date? = nil, actor: String, now: Date
    ) async throws -> (id: Int, token: String) {
        guard !principal.isEmpty, principal.count <= 100 else { throw StoreError(.conflict, "a token needs a principal name of 1 to 100 characters") }
        guard !roles.isEmpty else { throw StoreError(.conflict, "a token needs at least one role (\(AccessRole.allCases.map(\.rawValue).joined(separator: ", ")))") }
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let secret = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let token = "vgl_" + secret
        let roleNames = roles.sorted().map(\.rawValue)
        let sensitive = sensitiveModels.sorted()
        return try await database.transaction { connection in
            let rows = try await connection.query("""
                INSERT INTO api_tokens (principal, roles, sensitive, token_hash, prefix, created_at, created_by, expires_at)
                VALUES (\(principal), \(roleNames), \(sensitive), \(token.sha256Hex), \(String(token.prefix(10))), \(now), \(actor), \(expiresAt))
                RETURNING id
                """, logger: database.logger)
            var id = 0
            for try await value in rows.decode(Int.self) { id = value }
            try await AuditLog.append(actor: actor, action: "token.created", subject: "token:\(id)", reason: nil,
                                      details: ["principal": .string(principal), "roles": .array(roleNames.map(JSONValue.string)),
                                                "sensitive": .array(sensitive.map(JSONValue.string))],
                                      at: now, on: connection, logger: database.logger)
            return (id, token)
        }
    }

    /// Every token, newest first.
    public func list() async throws -> [TokenRecord] {
        let rows = try await database.client.query("""
            SELECT id, principal, roles, sensitive, prefix, created_at, created_by, expires_at, revoked_at, revoked_by, last_used_at
            FROM api_tokens ORDER BY id DESC
            """, logger: database.logger)
        var tokens: [TokenRecord] = []
        for try await (id, principal, roles, sensitive, prefix, created, by, expires, revoked, revokedBy, used)
            in rows.decode((Int, String, [String], [String], String, Date, String, Date?, Date?, String?, Date?).self) {
            tokens.append(TokenRecord(id: id, principal: principal, roles: roles.compactMap(AccessRole.init(rawValue:)), sensitiveModels: sensitive,
                                      prefix: prefix, createdAt: created, createdBy: by, expiresAt: expires, revokedAt: revoked, revokedBy: revokedBy, lastUsedAt: used))
        }
        return tokens
    }

    /// Revokes a token at once.
    public func revoke(_ id: Int, actor: String, reason: String, now: Date) async throws {
        try await database.transaction { connection in
            let rows = try await connection.query("""
                UPDATE api_tokens SET revoked_at = \(now), revoked_by = \(actor) WHERE id = \(id) AND revoked_at IS NULL RETURNING principal
                """, logger: database.logger)
            var principal: String?
            for try await name in rows.decode(String.self) { principal = name }
            guard let principal else { throw StoreError(.notFound, "no active token \(id); `vigil tokens list` shows them") }
            try await AuditLog.append(actor: actor, action: "token.revoked", subject: "token:\(id)", reason: reason,
                                      details: ["principal": .string(principal)], at: now, on: connection, logger: database.logger)
        }
    }

    /// The principal a presented token stands for, or `nil` when it is unknown, revoked or expired.
    ///
    /// Tokens are checked on every request (a serving layer polling routing, Prometheus scraping),
    /// so this reads; `last_used_at` is written at most once a minute per token.
    public func authenticate(_ token: String, now: Date) async throws -> Principal? {
        guard token.hasPrefix("vgl_"), token.count < 200 else { return nil }
        let rows = try await database.client.query("""
            SELECT id, principal, roles, sensitive, last_used_at FROM api_tokens
            WHERE token_hash = \(token.sha256Hex) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > \(now))
            """, logger: database.logger)
        for try await (id, principal, roles, sensitive, used) in rows.decode((Int, String, [String], [String], Date?).self) {
            if used.map({ now.timeIntervalSince($0) >= 60 }) ?? true {
                try await database.client.query("UPDATE api_tokens SET last_used_at = \(now) WHERE id = \(id)", logger: database.logger)
            }
            return Principal(name: principal, roles: Set(roles.compactMap(AccessRole.init(rawValue:))), sensitiveModels: Set(sensitive))
        }
        return nil
    }
}
