import Foundation
import Logging
import PostgresNIO
import VigilWorkflow

/// One entry of the audit log.
public struct AuditEntry: Sendable {
    public let id: Int
    public let at: Date
    public let actor: String
    public let action: String
    public let subject: String
    public let reason: String?
    public let details: [String: JSONValue]
    public let previousHash: String
    public let hash: String
}

/// The tamper-evident audit log (`audit_log`): who did what to what, when and why, for every
/// manual action and every automatic decision with consequences.
///
/// The database chains each entry to the one before: an insert trigger, holding a lock, gives the
/// entry the next id, the previous entry's hash, and the SHA-256 of its own content. The table is
/// append-only (a trigger, and the service role's UPDATE and DELETE grants revoked), and
/// ``verify()`` walks the chain to find the first entry that was changed or removed.
public struct AuditLog: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Appends an entry inside the caller's transaction, so it commits with the change it records.
    static func append(
        actor: String, action: String, subject: String, reason: String?, details: [String: JSONValue] = [:], at: Date,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query("""
            INSERT INTO audit_log (id, at, actor, action, subject, reason, details, previous_hash, hash)
            VALUES (0, \(at), \(actor), \(action), \(subject), \(reason), \(try JSONText.encode(details))::jsonb, '', '')
            """, logger: logger)
    }

    /// Appends an entry on its own.
    public func append(actor: String, action: String, subject: String, reason: String?, details: [String: JSONValue] = [:], at: Date) async throws {
        try await database.transaction { connection in
            try await Self.append(actor: actor, action: action, subject: subject, reason: reason, details: details, at: at, on: connection, logger: database.logger)
        }
    }

    static let columns = "id, at, actor, action, subject, reason, details::text AS details, previous_hash, hash"

    static func entry(from row: PostgresRow) throws -> AuditEntry {
        let cells = row.makeRandomAccess()
        return AuditEntry(
            id: try cells["id"].decode(Int.self), at: try cells["at"].decode(Date.self), actor: try cells["actor"].decode(String.self),
            action: try cells["action"].decode(String.self), subject: try cells["subject"].decode(String.self), reason: try cells["reason"].decode(String?.self),
            details: try JSONText.decode([String: JSONValue].self, from: cells["details"].decode(String.self)),
            previousHash: try cells["previous_hash"].decode(String.self), hash: try cells["hash"].decode(String.self)
        )
    }

    /// Entries, oldest first, filtered by time, actor and subject (a prefix such as `model:churn`).
    public func list(since: Date? = nil, actor: String? = nil, subject: String? = nil, after: Int = 0, limit: Int = 1_000) async throws -> [AuditEntry] {
        var bindings = PostgresBindings()
        bindings.append(since)
        bindings.append(actor)
        bindings.append(subject)
        bindings.append(after)
        bindings.append(limit)
        let rows = try await database.client.query(PostgresQuery(unsafeSQL: """
            SELECT \(Self.columns) FROM audit_log
            WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::text IS NULL OR actor = $2)
              AND ($3::text IS NULL OR subject = $3 OR starts_with(subject, $3 || '/')) AND id > $4
            ORDER BY id LIMIT $5
            """, binds: bindings), logger: database.logger)
        var entries: [AuditEntry] = []
        for try await row in rows { entries.append(try Self.entry(from: row)) }
        return entries
    }

    /// What walking the chain found.
    public struct Verification: Sendable {
        /// Entries checked.
        public let checked: Int
        /// The first entry that does not hold, and why; `nil` when the whole chain holds.
        public let broken: (entry: AuditEntry, problem: String)?
    }

    /// Walks the chain from the first entry: each entry's hash must be the SHA-256 of its content,
    /// and each must name the hash of the entry before it.
    public func verify() async throws -> Verification {
        let rows = try await database.client.query(PostgresQuery(unsafeSQL: """
            SELECT \(Self.columns), vigil_audit_content(audit_log) AS content FROM audit_log ORDER BY id
            """), logger: database.logger)
        var previous = String(repeating: "0", count: 64)
        var previousID: Int?
        var checked = 0
        for try await row in rows {
            let entry = try Self.entry(from: row)
            let content = try row.makeRandomAccess()["content"].decode(String.self)
            if entry.previousHash != previous {
                let before = previousID.map { "entry \($0)" } ?? "the start of the log"
                return Verification(checked: checked, broken: (entry, "it does not follow \(before): an entry before it was changed or removed"))
            }
            if content.sha256Hex != entry.hash {
                return Verification(checked: checked, broken: (entry, "its content does not match its hash: it was changed after it was written"))
            }
            previous = entry.hash
            previousID = entry.id
            checked += 1
        }
        return Verification(checked: checked, broken: nil)
    }
}
