import Foundation
import PostgresNIO
import VigilWorkflow

/// What people do about alerts. Each action is recorded with who, when and why.
extension AlertStore {
    /// Acknowledges an open alert: it is not paged again, and channels that support it hear so.
    ///
    /// - Throws: ``StoreError`` `notFound`, or `conflict` when the alert is resolved or already acknowledged.
    @discardableResult
    public func acknowledge(_ id: Int, actor: String, reason: String, now: Date) async throws -> Alert {
        try await act(on: id, actor: actor, now: now) { alert, change in
            guard alert.state.isOpen else { throw StoreError(.conflict, "alert \(id) is resolved; only an open alert can be acknowledged") }
            guard alert.state != .acknowledged else {
                throw StoreError(.conflict, "alert \(id) was already acknowledged by \(alert.acknowledgedBy ?? "someone")")
            }
            try await change.connection.query("""
                UPDATE alerts SET state = 'acknowledged', acknowledged_at = \(now), acknowledged_by = \(actor), renotify_at = NULL WHERE id = \(id)
                """, logger: change.logger)
            try await change.record(id, "acknowledged", reason: reason)
            _ = try await change.queue(id, kind: .acknowledge, channels: try await change.channelsThatHeard(id))
            return try await Self.lockedAlert(id: id, on: change.connection, logger: change.logger)
        }
    }

    /// Resolves an open alert by hand; every channel that heard of it hears the resolution.
    ///
    /// - Throws: ``StoreError`` `notFound`, or `conflict` when the alert is already resolved.
    @discardableResult
    public func resolve(_ id: Int, actor: String, reason: String, now: Date) async throws -> Alert {
        try await act(on: id, actor: actor, now: now) { alert, change in
            guard alert.state.isOpen else { throw StoreError(.conflict, "alert \(id) was already resolved by \(alert.resolvedBy ?? "someone")") }
            return try await change.resolve(alert, reason: reason)
        }
    }

    /// Marks an alert as a false positive (it counts against alert precision); an open one is also resolved.
    @discardableResult
    public func markFalsePositive(_ id: Int, actor: String, reason: String, now: Date) async throws -> Alert {
        try await act(on: id, actor: actor, now: now) { alert, change in
            guard !alert.falsePositive else { throw StoreError(.conflict, "alert \(id) is already marked as a false positive") }
            try await change.connection.query("UPDATE alerts SET false_positive = true WHERE id = \(id)", logger: change.logger)
            try await change.record(id, "false_positive", reason: reason)
            if alert.state.isOpen { return try await change.resolve(alert, reason: "false positive: \(reason)") }
            return try await Self.lockedAlert(id: id, on: change.connection, logger: change.logger)
        }
    }

    /// Silences a model's alerts (or one rule's) from `now` for `duration`: open firing alerts
    /// stop being paged, and new findings are recorded without notifying anyone.
    ///
    /// - Returns: the silence's id and the alerts it silenced.
    public func silence(
        model: String, rule: String?, for duration: TimeInterval, actor: String, reason: String, now: Date
    ) async throws -> (silenceID: Int, silenced: [Int]) {
        guard duration > 0 else { throw StoreError(.conflict, "a silence must last longer than zero") }
        return try await database.transaction { connection in
            let inserted = try await connection.query("""
                INSERT INTO alert_silences (model, rule, starts_at, ends_at, created_by, reason)
                VALUES (\(model), \(rule), \(now), \(now.addingTimeInterval(duration)), \(actor), \(reason)) RETURNING id
                """, logger: database.logger)
            var silenceID = 0
            for try await id in inserted.decode(Int.self) { silenceID = id }
            try await AuditLog.append(actor: actor, action: "alert.silence_created", subject: "model:\(model)", reason: reason,
                                      details: ["silence": .number(Double(silenceID)), "rule": rule.map(JSONValue.string) ?? .null, "seconds": .number(duration)],
                                      at: now, on: connection, logger: database.logger)
            let rows = try await connection.query("""
                UPDATE alerts SET state = 'silenced', renotify_at = NULL
                WHERE model = \(model) AND (\(rule)::text IS NULL OR rule = \(rule)) AND state = 'firing' RETURNING id
                """, logger: database.logger)
            var silenced: [Int] = []
            for try await id in rows.decode(Int.self) { silenced.append(id) }
            let change = AlertChange(connection: connection, logger: database.logger, actor: actor, now: now)
            for id in silenced {
                try await change.record(id, "silenced", reason: reason, details: ["silence": .number(Double(silenceID)), "until": .string(ISO8601DateFormatter().string(from: now.addingTimeInterval(duration)))])
            }
            return (silenceID, silenced)
        }
    }

    /// Runs `body` on the locked alert inside a transaction.
    private func act(on id: Int, actor: String, now: Date, _ body: (Alert, AlertChange) async throws -> Alert) async throws -> Alert {
        try await database.transaction { connection in
            let alert = try await Self.lockedAlert(id: id, on: connection, logger: database.logger)
            return try await body(alert, AlertChange(connection: connection, logger: database.logger, actor: actor, now: now))
        }
    }
}
