import Foundation
import PostgresNIO
import VigilWorkflow

extension RunStore {
    /// The latest tick of `workflow` that any scheduler claimed, or when the workflow was first
    /// applied if none was; never before it was last enabled, so ticks missed while it was
    /// disabled are not caught up.
    public func lastScheduledTick(of workflow: String) async throws -> Date? {
        try await database.client.query("""
            SELECT greatest(coalesce((SELECT max(scheduled_for) FROM schedule_ticks WHERE workflow = \(workflow)),
                                     (SELECT min(applied_at) FROM workflow_versions WHERE workflow = \(workflow))),
                            (SELECT state_changed_at FROM workflows WHERE name = \(workflow) AND state = 'enabled'))
            """, logger: logger).collect().first.flatMap { try $0.decode(Date?.self) }
    }

    /// Claims one cron tick and starts its run, in one transaction. However many schedulers try,
    /// the unique key on (workflow, tick) lets exactly one through.
    ///
    /// - Returns: the run started, or `nil` when another scheduler claimed the tick.
    public func startScheduledRun(
        _ version: WorkflowVersion, params: [String: JSONValue], trigger: RunTrigger, concurrency: ConcurrencyRule?,
        tick: Date, scheduler: String, now: Date
    ) async throws -> RunCreation? {
        try await database.transaction { connection in
            let claimed = try await connection.query("""
                INSERT INTO schedule_ticks (workflow, scheduled_for, claimed_by, claimed_at) VALUES (\(version.workflow), \(tick), \(scheduler), \(now))
                ON CONFLICT (workflow, scheduled_for) DO NOTHING RETURNING 1
                """, logger: logger).collect()
            guard !claimed.isEmpty else { return nil }
            let key = "schedule:\(version.workflow):\(ISO8601DateFormatter().string(from: tick))"
            let creation = try await createRun(
                version, params: params, trigger: trigger, idempotencyKey: key, concurrency: concurrency, scheduledFor: tick, now: now, on: connection
            )
            if case let .created(id) = creation {
                try await connection.query(
                    "UPDATE schedule_ticks SET run_id = \(id) WHERE workflow = \(version.workflow) AND scheduled_for = \(tick)", logger: logger
                )
            }
            return creation
        }
    }
}
