import ArgumentParser
import Foundation
import VigilStore
import VigilWorkflow

/// `vigil audit`: the tamper-evident record of who did what, when and why.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The audit log: list entries, verify the hash chain, export for an auditor's own tools.",
        subcommands: [List.self, Verify.self, Head.self, Export.self]
    )

    /// Filters shared by list and export.
    struct Filters: ParsableArguments {
        @Option(help: "Only entries since this time (RFC 3339) or this long ago (24h, 7d).") var since: String?
        @Option(help: "Only this actor's entries.") var actor: String?
        @Option(help: "Only entries about this subject (model:churn, alert:12, run:40, workflow:churn-retrain).") var subject: String?

        func start() throws -> Date? {
            try since.map { try SinceOption.date($0) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List audit entries, oldest first.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var filters: Filters
        @Option(help: "At most this many (the oldest that match), 1 to 100000.") var limit = 200

        func validate() throws { try ListLimit.check(limit) }

        func run() async throws {
            let since = try filters.start()
            let entries = try await global.withDatabase(logger: global.makeLogger()) { database in
                try await AuditLog(database: database).list(since: since, actor: filters.actor, subject: filters.subject, limit: limit)
            }
            var table = TextTable(["id", "at", "actor", "action", "subject", "reason"])
            for entry in entries {
                table.append([String(entry.id), ISO8601DateFormatter().string(from: entry.at), entry.actor, entry.action, entry.subject, entry.reason ?? ""])
            }
            print(table.rendered, terminator: "")
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk the hash chain; exit 1 naming the first entry that was changed, or that follows a removed one."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "A head saved earlier with `vigil audit head` (ID:HASH): the log must still reach it, unchanged.")
        var head: String?

        func run() async throws {
            let saved = try head.map { text in
                guard let head = AuditHead(text) else { throw ValidationError("--head must be ID:HASH as `vigil audit head` prints it, such as 42:3f…(64 hex digits)") }
                return head
            }
            let result = try await global.withDatabase(logger: global.makeLogger()) { try await AuditLog(database: $0).verify(against: saved) }
            if let (entry, problem) = result.broken {
                throw CommandFailure("audit log broken at entry \(entry.id) (\(ISO8601DateFormatter().string(from: entry.at)) \(entry.actor) \(entry.action) \(entry.subject)): \(problem); \(result.checked) entries before it verified")
            }
            if let cut = result.cut {
                throw CommandFailure("audit log cut: \(cut); \(result.checked) entries verified")
            }
            let against = saved.map { " and reaches the saved head \($0.id)" } ?? ""
            print("audit log intact: \(result.checked) entr\(result.checked == 1 ? "y" : "ies") verified\(against); head \(result.head)")
        }
    }

    struct Head: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the head of the audit chain (ID:HASH), to keep outside the database for `vigil audit verify --head`."
        )
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let head = try await global.withDatabase(logger: global.makeLogger()) { try await AuditLog(database: $0).head() }
            print(head)
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export entries with their hashes as JSON lines or CSV.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var filters: Filters
        @Option(help: "jsonl or csv.") var format: ExportFormat = .jsonl

        enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
            case jsonl, csv
        }

        func run() async throws {
            let since = try filters.start()
            try await global.withDatabase(logger: global.makeLogger()) { database in
                let log = AuditLog(database: database)
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                var after = 0
                var table = TextTable(["id", "at", "actor", "action", "subject", "reason", "details", "previous_hash", "hash"])
                while true {
                    let page = try await log.list(since: since, actor: filters.actor, subject: filters.subject, after: after, limit: 5_000)
                    guard let last = page.last else { break }
                    for entry in page {
                        let details = try JSONOutput.encode(entry.details)
                        switch format {
                        case .jsonl:
                            print(try JSONOutput.encode(JSONValue.object([
                                "id": .number(Double(entry.id)), "at": .string(formatter.string(from: entry.at)), "actor": .string(entry.actor),
                                "action": .string(entry.action), "subject": .string(entry.subject), "reason": entry.reason.map(JSONValue.string) ?? .null,
                                "details": .object(entry.details), "previous_hash": .string(entry.previousHash), "hash": .string(entry.hash),
                            ])))
                        case .csv:
                            table.append([String(entry.id), formatter.string(from: entry.at), entry.actor, entry.action, entry.subject, entry.reason ?? "",
                                          details, entry.previousHash, entry.hash])
                        }
                    }
                    after = last.id
                }
                if format == .csv { print(table.csv, terminator: "") }
            }
        }
    }
}

/// `vigil tokens`: API tokens for `vigil serve`.
struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Create, list and revoke API tokens (shown once, stored only as a hash).",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token for a principal; it is printed once.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Who the token stands for (a person or a service).") var principal: String
        @Option(help: "A role: \(AccessRole.allCases.map(\.rawValue).joined(separator: ", ")) (repeatable).") var role: [String]
        @Option(help: "A sensitive model the token may see, or * for all (repeatable).") var sensitive: [String] = []
        @Option(help: "Expire after this long (such as 90d).") var expires: String?

        func run() async throws {
            let roles = try Set(role.map { name in
                guard let role = AccessRole(rawValue: name) else {
                    throw ValidationError("unknown role '\(name)' (expected \(AccessRole.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return role
            })
            guard !roles.isEmpty else { throw ValidationError("give at least one --role") }
            let expiry = try expires.map { text in
                guard let duration = WorkflowDuration(text), duration.seconds > 0 else { throw ValidationError("--expires must be a duration such as 90d") }
                return Date().addingTimeInterval(duration.seconds)
            }
            let (id, token) = try await global.withDatabase(logger: global.makeLogger()) { database in
                try await TokenStore(database: database).create(principal: principal, roles: roles, sensitiveModels: Set(sensitive), expiresAt: expiry,
                                                                actor: global.actor, now: Date())
            }
            print("token \(id) for \(principal) (\(roles.sorted().map(\.rawValue).joined(separator: ", "))); shown once, keep it secret:")
            print(token)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let tokens = try await global.withDatabase(logger: global.makeLogger()) { try await TokenStore(database: $0).list() }
            let formatter = ISO8601DateFormatter()
            var table = TextTable(["id", "principal", "roles", "sensitive", "prefix", "created_at", "created_by", "expires_at", "revoked", "last_used"])
            for token in tokens {
                table.append([String(token.id), token.principal, token.roles.map(\.rawValue).joined(separator: ","), token.sensitiveModels.joined(separator: ","),
                              token.prefix + "…", formatter.string(from: token.createdAt), token.createdBy, token.expiresAt.map(formatter.string(from:)) ?? "",
                              token.revokedAt.map { "\(formatter.string(from: $0)) by \(token.revokedBy ?? "")" } ?? "", token.lastUsedAt.map(formatter.string(from:)) ?? ""])
            }
            print(table.rendered, terminator: "")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token at once.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The token's id.") var id: Int
        @Option(help: "Why (recorded).") var reason: String

        func run() async throws {
            try await global.withDatabase(logger: global.makeLogger()) { database in
                try await TokenStore(database: database).revoke(id, actor: global.actor, reason: reason, now: Date())
            }
            print("token \(id) revoked")
        }
    }
}
