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
        /// Why the log does not reach its head (entries cut off its end); `nil` when it does.
        public let cut: String?
        /// The newest entry the walk reached.
        public let head: AuditHead

        /// Whether every entry holds and the log reaches its head.
        public var isIntact: Bool { broken == nil && cut == nil }
    }

    /// The head as the database keeps it: moved forward with every entry, in the same transaction.
    public func head() async throws -> AuditHead {
        let rows = try await database.client.query("SELECT last_id, last_hash FROM audit_head", logger: database.logger)
        for try await (id, hash) in rows.decode((Int, String).self) { return AuditHead(id: id, hash: hash) }
        throw StoreError(.conflict, "the audit head is missing: someone with superuser rights removed it")
    }

    /// Walks the chain from the first entry: each entry's hash must be the SHA-256 of its content,
    /// and each must name the hash of the entry before it. Then the log must reach the head the
    /// database keeps and, when given, a head saved earlier (`saved`): its entry must still be
    /// there with the same hash.
    public func verify(against saved: AuditHead? = nil) async throws -> Verification {
        let rows = try await database.client.query(PostgresQuery(unsafeSQL: """
            SELECT \(Self.columns), vigil_audit_content(audit_log) AS content FROM audit_log ORDER BY id
            """), logger: database.logger)
        var previous = AuditHead.empty
        var checked = 0
        var savedFound = saved == nil || saved == AuditHead.empty
        for try await row in rows {
            let entry = try Self.entry(from: row)
            let content = try row.makeRandomAccess()["content"].decode(String.self)
            if entry.previousHash != previous.hash {
                let before = previous.id == 0 ? "the start of the log" : "entry \(previous.id)"
                return Verification(checked: checked, broken: (entry, "it does not follow \(before): an entry before it was changed or removed"), cut: nil, head: previous)
            }
            if content.sha256Hex != entry.hash {
                return Verification(checked: checked, broken: (entry, "its content does not match its hash: it was changed after it was written"), cut: nil, head: previous)
            }
            if let saved, entry.id == saved.id {
                guard entry.hash == saved.hash else {
                    return Verification(checked: checked, broken: (entry, "it is not the entry of the saved head \(saved): the log was rewritten from here"), cut: nil, head: previous)
                }
                savedFound = true
            }
            previous = AuditHead(id: entry.id, hash: entry.hash)
            checked += 1
        }
        if let saved, !savedFound {
            let cut = saved.id > previous.id
                ? "the log ends at entry \(previous.id), before the saved head's entry \(saved.id): the newest entries were removed"
                : "entry \(saved.id) of the saved head is missing: it was removed"
            return Verification(checked: checked, broken: nil, cut: cut, head: previous)
        }
        let kept = try await head()
        if kept != previous {
            let cut = kept.id > previous.id
                ? "the log ends at entry \(previous.id), but its head says \(kept.id): the newest entries were removed"
                : "the log ends at entry \(previous.id), which is not its head \(kept): the head or the log was tampered with"
            return Verification(checked: checked, broken: nil, cut: cut, head: previous)
        }
        return Verification(checked: checked, broken: nil, cut: nil, head: previous)
    }
}
