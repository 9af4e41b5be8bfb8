import Foundation
import PostgresNIO
import VigilWorkflow

/// Canary promotions and shadow comparisons.
extension ModelRegistry {
    static let promotionColumns = "id, model, version, champion_version, run_id, state, stage_percent, started_at, finished_at, reason"

    static func promotion(from row: PostgresRow) throws -> Promotion {
        let cells = row.makeRandomAccess()
        return Promotion(
            id: try cells["id"].decode(Int.self), model: try cells["model"].decode(String.self), version: try cells["version"].decode(Int.self),
            championVersion: try cells["champion_version"].decode(Int?.self), runID: try cells["run_id"].decode(Int?.self),
            state: Promotion.State(rawValue: try cells["state"].decode(String.self)) ?? .canary,
            stagePercent: try cells["stage_percent"].decode(Double.self), startedAt: try cells["started_at"].decode(Date.self),
            finishedAt: try cells["finished_at"].decode(Date?.self), reason: try cells["reason"].decode(String?.self)
        )
    }

    /// One promotion.
    public func promotion(_ id: Int) async throws -> Promotion {
        let rows = try await database.client.query(PostgresQuery(
            unsafeSQL: "SELECT \(Self.promotionColumns) FROM promotions WHERE id = $1", binds: try PostgresBindings(values: id)
        ), logger: database.logger)
        for try await row in rows { return try Self.promotion(from: row) }
        throw StoreError(.notFound, "no promotion \(id)")
    }

    /// Begins promoting `version`. The database allows one promotion in progress per model.
    ///
    /// - Throws: ``StoreError`` `conflict` when another promotion of the model is in progress.
    public func startPromotion(_ version: Int, of model: String, runID: Int?, actor: String, now: Date) async throws -> Promotion {
        do {
            return try await database.transaction { connection in
                let change = ModelChange(connection: connection, logger: database.logger, model: model, actor: actor, now: now)
                try await change.requireModel()
                try await change.requireVersion(version)
                let champion = try await change.lockedAliases()["champion"]
                var bindings = PostgresBindings()
                bindings.append(model)
                bindings.append(version)
                bindings.append(champion)
                bindings.append(runID)
                bindings.append(now)
                let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO promotions (model, version, champion_version, run_id, state, started_at) VALUES ($1, $2, $3, $4, 'canary', $5)
                    RETURNING \(Self.promotionColumns)
                    """, binds: bindings), logger: database.logger)
                for try await row in rows { return try Self.promotion(from: row) }
                throw StoreError(.query, "the promotion was not stored")
            }
        } catch where StoreError.sqlState(of: error) == "23505" {
            throw StoreError(.conflict, "model \(model) is already being promoted; one promotion at a time (see `vigil models changelog \(model)`)")
        }
    }

    /// Sends `percent` of traffic to the promotion's version (the `canary` alias).
    public func setCanary(_ promotion: Promotion, percent: Double, actor: String, reason: String, now: Date) async throws {
        try await database.transaction { connection in
            let change = ModelChange(connection: connection, logger: database.logger, model: promotion.model, actor: actor, now: now)
            guard let active = try await change.activePromotion(), active.id == promotion.id else {
                throw StoreError(.conflict, "promotion \(promotion.id) of \(promotion.model) is no longer in progress")
            }
            // A step attempt that runs again (at-least-once execution) changes nothing the second time.
            if active.stagePercent == percent { return }
            try await connection.query("""
                UPDATE promotions SET stage_percent = \(percent), state = 'canary' WHERE id = \(promotion.id)
                """, logger: database.logger)
            try await change.point("canary", at: promotion.version, weight: percent / 100, action: "canary", reason: reason, runID: promotion.runID)
        }
    }

    /// Marks the promotion as waiting for a person's approval before full traffic.
    public func awaitApproval(_ promotion: Promotion, actor: String, now: Date) async throws {
        try await database.transaction { connection in
            try await connection.query("UPDATE promotions SET state = 'awaiting_approval' WHERE id = \(promotion.id) AND state = 'canary'", logger: database.logger)
            try await ModelChange(connection: connection, logger: database.logger, model: promotion.model, actor: actor, now: now)
                .log("awaiting_approval", version: promotion.version, reason: "full promotion waits for approval", runID: promotion.runID)
        }
    }

    /// Makes the promotion's version the champion, if the champion is still the one the
    /// promotion began with (so two promotions can never both move it).
    ///
    /// - Throws: ``StoreError`` `conflict` when the champion moved in the meantime.
    public func completePromotion(_ promotion: Promotion, actor: String, reason: String, now: Date) async throws {
        try await database.transaction { connection in
            let change = ModelChange(connection: connection, logger: database.logger, model: promotion.model, actor: actor, now: now)
            guard try await change.activePromotion()?.id == promotion.id else {
                throw StoreError(.conflict, "promotion \(promotion.id) of \(promotion.model) is no longer in progress")
            }
            let aliases = try await change.lockedAliases()
            guard aliases["champion"] == promotion.championVersion else {
                throw StoreError(.conflict, "the champion of \(promotion.model) moved to version \(aliases["champion"].map(String.init) ?? "none") during the promotion; not promoting \(promotion.version)")
            }
            try await change.point("champion", at: promotion.version, weight: nil, action: "promoted", reason: reason, runID: promotion.runID)
            if let previous = promotion.championVersion {
                try await change.point("previous", at: previous, weight: nil, action: "alias_moved", reason: reason, runID: promotion.runID, logged: false)
            }
            try await change.remove("canary", action: "canary", reason: reason, runID: promotion.runID, logged: false)
            if aliases["challenger"] == promotion.version {
                try await change.remove("challenger", action: "alias_moved", reason: reason, runID: promotion.runID, logged: false)
            }
            try await change.endPromotion(promotion, state: .promoted, reason: reason)
        }
    }

    /// Takes the canary's traffic back at once: the champion keeps serving.
    public func rollbackPromotion(_ promotion: Promotion, actor: String, reason: String, now: Date) async throws {
        try await database.transaction { connection in
            let change = ModelChange(connection: connection, logger: database.logger, model: promotion.model, actor: actor, now: now)
            guard try await change.activePromotion()?.id == promotion.id else { return }
            try await change.remove("canary", action: "canary", reason: reason, runID: promotion.runID, logged: false)
            try await change.endPromotion(promotion, state: .rolledBack, reason: reason)
            try await change.log("rolled_back", version: promotion.version, alias: "canary", from: promotion.version, reason: reason, runID: promotion.runID,
                                 details: ["stage_percent": .number(promotion.stagePercent)])
        }
    }

    /// Records a shadow comparison and its result in the changelog.
    ///
    /// - Returns: the comparison's id.
    @discardableResult
    public func record(_ comparison: ShadowComparison, actor: String, now: Date) async throws -> Int {
        try await database.transaction { connection in
            var bindings = PostgresBindings()
            bindings.append(comparison.model)
            bindings.append(comparison.championVersion)
            bindings.append(comparison.challengerVersion)
            bindings.append(comparison.runID)
            bindings.append(comparison.source)
            bindings.append(comparison.windowStart)
            bindings.append(comparison.windowEnd)
            bindings.append(comparison.samples)
            bindings.append(comparison.metric)
            bindings.append(comparison.championValue)
            bindings.append(comparison.challengerValue)
            bindings.append(comparison.lift)
            bindings.append(comparison.liftLow)
            bindings.append(comparison.liftHigh)
            bindings.append(comparison.test)
            bindings.append(comparison.pValue)
            bindings.append(comparison.agreement)
            bindings.append(comparison.championLatencyP95)
            bindings.append(comparison.challengerLatencyP95)
            bindings.append(comparison.decision)
            bindings.append(try JSONText.encode(comparison.reasons))
            bindings.append(now)
            let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                INSERT INTO shadow_comparisons (model, champion_version, challenger_version, run_id, source, window_start, window_end, samples, metric,
                    champion_value, challenger_value, lift, lift_low, lift_high, test, p_value, agreement, champion_latency_p95,
                    challenger_latency_p95, decision, reasons, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21::jsonb, $22)
                RETURNING id
                """, binds: bindings), logger: database.logger)
            var id = 0
            for try await value in rows.decode(Int.self) { id = value }
            var details: [String: JSONValue] = [
                "comparison": .number(Double(id)), "champion_version": .number(Double(comparison.championVersion)),
                "samples": .number(Double(comparison.samples)), "metric": .string(comparison.metric), "source": .string(comparison.source),
            ]
            if let lift = comparison.lift { details["lift"] = .number(lift) }
            if let p = comparison.pValue { details["p_value"] = .number(p) }
            try await ModelChange(connection: connection, logger: database.logger, model: comparison.model, actor: actor, now: now)
                .log("shadow_result", version: comparison.challengerVersion, reason: "\(comparison.decision): " + comparison.reasons.joined(separator: "; "),
                     runID: comparison.runID, details: details)
            return id
        }
    }
}
