import Foundation
import Logging
import PostgresNIO
import VigilWorkflow

/// Changes to one model inside a transaction the caller holds; each alias change is logged.
struct ModelChange {
    let connection: PostgresConnection
    let logger: Logger
    let model: String
    let actor: String
    let now: Date

    /// Appends to the model's changelog.
    func log(_ action: String, version: Int? = nil, alias: String? = nil, from: Int? = nil, reason: String? = nil, runID: Int? = nil,
             details: [String: JSONValue] = [:]) async throws {
        try await connection.query("""
            INSERT INTO model_changelog (model, at, actor, action, version, alias, from_version, reason, run_id, details)
            VALUES (\(model), \(now), \(actor), \(action), \(version), \(alias), \(from), \(reason), \(runID), \(try JSONText.encode(details))::jsonb)
            """, logger: logger)
        var audited = details
        if let version { audited["version"] = .number(Double(version)) }
        if let alias { audited["alias"] = .string(alias) }
        if let from { audited["from_version"] = .number(Double(from)) }
        if let runID { audited["run"] = .number(Double(runID)) }
        try await AuditLog.append(actor: actor, action: "model.\(action)", subject: "model:\(model)", reason: reason, details: audited,
                                  at: now, on: connection, logger: logger)
    }

    /// Points `alias` at `version` (with a traffic `weight` for the canary) and logs it as `action`.
    func point(_ alias: String, at version: Int, weight: Double?, action: String, reason: String?, runID: Int?, logged: Bool = true) async throws {
        let previous = try await lockedAliases()[alias]
        try await connection.query("""
            INSERT INTO model_aliases (model, alias, version, weight, updated_at, updated_by)
            VALUES (\(model), \(alias), \(version), \(weight), \(now), \(actor))
            ON CONFLICT (model, alias) DO UPDATE SET version = EXCLUDED.version, weight = EXCLUDED.weight,
                updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
            """, logger: logger)
        if logged {
            try await log(action, version: version, alias: alias, from: previous, reason: reason, runID: runID,
                          details: weight.map { ["weight": .number($0)] } ?? [:])
            if alias == "champion" && previous != version { try await moveBaseline(to: version, from: previous, runID: runID) }
        }
    }

    /// Clears `alias`, if it is set.
    func remove(_ alias: String, action: String, reason: String?, runID: Int?, logged: Bool = true) async throws {
        let rows = try await connection.query("""
            DELETE FROM model_aliases WHERE model = \(model) AND alias = \(alias) RETURNING version
            """, logger: logger)
        for try await version in rows.decode(Int.self) where logged {
            try await log(action, version: nil, alias: alias, from: version, reason: reason, runID: runID)
        }
    }

    /// The model's aliases, locked until the transaction ends: alias → version.
    func lockedAliases() async throws -> [String: Int] {
        let rows = try await connection.query("""
            SELECT alias, version FROM model_aliases WHERE model = \(model) FOR UPDATE
            """, logger: logger)
        var aliases: [String: Int] = [:]
        for try await (alias, version) in rows.decode((String, Int).self) { aliases[alias] = version }
        return aliases
    }

    func requireModel() async throws {
        let rows = try await connection.query("SELECT name FROM models WHERE name = \(model) FOR UPDATE", logger: logger)
        for try await _ in rows.decode(String.self) { return }
        throw ModelRegistry.unknown(model)
    }

    func requireVersion(_ version: Int) async throws {
        let rows = try await connection.query("SELECT version FROM model_versions WHERE model = \(model) AND version = \(version)", logger: logger)
        for try await _ in rows.decode(Int.self) { return }
        throw StoreError(.notFound, "model \(model) has no version \(version); `vigil models versions \(model)` lists them")
    }

    /// The promotion in progress, locked.
    func activePromotion() async throws -> Promotion? {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT \(ModelRegistry.promotionColumns) FROM promotions WHERE model = $1 AND state IN ('canary', 'awaiting_approval') FOR UPDATE
            """, binds: try PostgresBindings(values: model)), logger: logger)
        for try await row in rows { return try ModelRegistry.promotion(from: row) }
        return nil
    }

    func endPromotion(_ promotion: Promotion, state: Promotion.State, reason: String) async throws {
        try await connection.query("""
            UPDATE promotions SET state = \(state.rawValue), finished_at = \(now), reason = \(reason) WHERE id = \(promotion.id)
            """, logger: logger)
    }
}
