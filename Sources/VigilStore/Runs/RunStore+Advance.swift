import Foundation
import PostgresNIO
import VigilWorkflow

/// A run row locked for the rest of a transaction, with what the planner needs.
struct LockedRun {
    let id: Int
    let workflow: String
    let version: Int
    let state: RunState
    let params: [String: JSONValue]
    let trigger: RunTrigger
    let concurrencyKey: String?
    let spec: WorkflowSpec
}

extension RunStore {
    func lockRun(_ id: Int, on connection: PostgresConnection) async throws -> LockedRun {
        guard let run = try await lockRuns([id], on: connection).first else { throw StoreError(.notFound, "no run \(id)") }
        return run
    }

    /// Locks the runs `ids` (those that exist) for the rest of the transaction, in id order: every
    /// transaction that locks several runs takes them in that order, so no two wait on each other.
    func lockRuns(_ ids: [Int], on connection: PostgresConnection) async throws -> [LockedRun] {
        guard !ids.isEmpty else { return [] }
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.lockedRunColumns) FROM runs r
            WHERE id = ANY(\(ids)::bigint[]) ORDER BY id FOR UPDATE
            """, logger: logger).collect()
        var runs: [LockedRun] = []
        for row in rows {
            // Decoded after the rows are in: a spec not yet cached is read on this same connection.
            runs.append(try await lockedRun(try row.decode(LockedRunRow.self), on: connection))
        }
        return runs
    }

    /// The columns of `runs r` a ``LockedRun`` is made of, decoded as ``LockedRunRow``.
    static let lockedRunColumns = "r.id, r.workflow, r.workflow_version, r.state, r.params::text, r.trigger::text, r.concurrency_key"
    typealias LockedRunRow = (Int, String, Int, String, String, String, String?)

    /// A locked run from its ``lockedRunColumns``, with its spec (read on `connection` when not cached).
    func lockedRun(_ row: LockedRunRow, on connection: PostgresConnection) async throws -> LockedRun {
        let (id, workflow, version, state, params, trigger, key) = row
        return LockedRun(
            id: id, workflow: workflow, version: version, state: RunState(rawValue: state) ?? .queued,
            params: try JSONText.decode([String: JSONValue].self, from: params), trigger: try JSONText.decode(RunTrigger.self, from: trigger),
            concurrencyKey: key, spec: try await specs.spec(workflow, version: version, on: connection, logger: logger)
        )
    }

    /// The run's steps as the planner sees them.
    func snapshots(ofRun id: Int, on connection: PostgresConnection) async throws -> [String: RunPlanner.Snapshot] {
        try await snapshots(ofRuns: [id], on: connection)[id] ?? [:]
    }

    /// The steps of each of the runs `ids`, as the planner sees them, in one query.
    func snapshots(ofRuns ids: [Int], on connection: PostgresConnection) async throws -> [Int: [String: RunPlanner.Snapshot]] {
        let rows = try await connection.query("SELECT run_id, name, state, outputs::text FROM steps WHERE run_id = ANY(\(ids)::bigint[])", logger: logger)
        var snapshots: [Int: [String: RunPlanner.Snapshot]] = [:]
        for try await (runID, name, state, outputs) in rows.decode((Int, String, String, String?).self) {
            snapshots[runID, default: [:]][name] = RunPlanner.Snapshot(
                state: StepState(rawValue: state) ?? .pending,
                outputs: try outputs.map { try JSONText.decode([String: JSONValue].self, from: $0) } ?? [:]
            )
        }
        return snapshots
    }

    /// The context conditions and templates of `run` are evaluated in.
    static func expressionBase(_ run: LockedRun) -> ExpressionContext {
        ExpressionContext(
            params: run.params, run: ["id": .number(Double(run.id)), "workflow": .string(run.workflow), "version": .number(Double(run.version)),
                                      "model": run.spec.model.map(JSONValue.string) ?? .null],
            trigger: run.trigger.expressionValue
        )
    }

    /// Applies the planner's decisions to a locked run and settles the run's own state.
    ///
    /// - Returns: whether any step became ready.
    @discardableResult
    func advance(_ run: LockedRun, actor: String, now: Date, cancelled: Bool = false, on connection: PostgresConnection) async throws -> Bool {
        var changes = RunChanges()
        try await advance([run], actor: actor, now: now, cancelled: cancelled, collecting: &changes, on: connection)
        let madeReady = changes.madeReady
        try await changes.write(on: connection, logger: logger)
        return madeReady
    }

    /// ``advance(_:actor:now:cancelled:on:)`` for several locked runs at once, leaving the writing
    /// to the caller: a batch of completions reads every run's steps in one query, and writes
    /// their changes with the history in one statement (``RunChanges``).
    ///
    /// `knownSteps` are the runs' steps when this transaction has just written every one of them
    /// (a new run), so they need not be read back.
    func advance(
        _ runs: [LockedRun], actor: String, now: Date, cancelled: Bool = false, knownSteps: [Int: [String: RunPlanner.Snapshot]]? = nil,
        collecting changes: inout RunChanges, on connection: PostgresConnection
    ) async throws {
        guard !runs.isEmpty else { return }
        let snapshotsByRun = if let knownSteps { knownSteps } else { try await snapshots(ofRuns: runs.map(\.id), on: connection) }
        var freedKeys: [String] = []
        for run in runs {
            var snapshots = snapshotsByRun[run.id] ?? [:]
            let planner = RunPlanner(spec: run.spec)
            let decisions = planner.advance(&snapshots, base: Self.expressionBase(run), cancelled: cancelled)
            changes.steps += decisions.map { RunChanges.StepChange(runID: run.id, step: $0.step, state: $0.to, at: now) }
            changes.events += decisions.map { NewEvent(runID: run.id, step: $0.step, from: StepState.pending.rawValue, to: $0.to.rawValue, actor: actor, reason: $0.reason, at: now) }
            if decisions.contains(where: { $0.to == .ready }) { changes.madeReady = true }
            let next = planner.runState(snapshots)
            if next != run.state && !(run.state == .queued && next == .running) {
                let failedSteps = snapshots.filter { $0.value.state == .failed }.map(\.key).sorted()
                let error = next == .failed ? "step\(failedSteps.count == 1 ? "" : "s") \(failedSteps.joined(separator: ", ")) failed" : nil
                changes.runs.append(RunChanges.RunChange(runID: run.id, state: next, error: error, at: now))
                changes.events.append(NewEvent(runID: run.id, from: run.state.rawValue, to: next.rawValue, actor: actor, reason: error ?? Self.reason(for: next), at: now))
            }
            if next.isTerminal, let key = run.concurrencyKey { freedKeys.append(key) }
        }
        guard !freedKeys.isEmpty else { return }
        // The next queued run is chosen by what is going now, so what was decided so far is
        // written first (and the notification kept for the end).
        let madeReady = changes.madeReady
        try await changes.write(on: connection, logger: logger)
        changes.madeReady = madeReady
        for key in freedKeys {
            try await startNextQueued(key: key, actor: actor, now: now, collecting: &changes, on: connection)
        }
    }

    private static func reason(for state: RunState) -> String {
        switch state {
        case .succeeded: "every step finished"
        case .waiting: "every unfinished step waits for time or a person"
        case .running: "a step is ready"
        case .cancelled: "cancelled"
        default: state.rawValue
        }
    }

    /// Starts the oldest queued run waiting behind `key`, if nothing else with that key is going.
    private func startNextQueued(key: String, actor: String, now: Date, on connection: PostgresConnection) async throws {
        var changes = RunChanges()
        try await startNextQueued(key: key, actor: actor, now: now, collecting: &changes, on: connection)
        try await changes.write(on: connection, logger: logger)
    }

    private func startNextQueued(key: String, actor: String, now: Date, collecting changes: inout RunChanges, on connection: PostgresConnection) async throws {
        let rows = try await connection.query("""
            SELECT id FROM runs r WHERE concurrency_key = \(key) AND state = 'queued'
              AND NOT EXISTS (SELECT 1 FROM steps s WHERE s.run_id = r.id AND s.state <> 'pending')
              AND NOT EXISTS (SELECT 1 FROM runs o WHERE o.concurrency_key = \(key) AND o.state IN ('running', 'waiting'))
            ORDER BY id LIMIT 1
            """, logger: logger).collect()
        guard let id = try rows.first?.decode(Int.self) else { return }
        try await advance([try await lockRun(id, on: connection)], actor: actor, now: now, collecting: &changes, on: connection)
    }

    // MARK: Operations people run

    /// Cancels a run: every unfinished step is cancelled (a worker holding one loses its lease).
    public func cancel(_ id: Int, actor: String, reason: String, now: Date) async throws {
        try await database.transaction { connection in
            try await cancel(id, actor: actor, reason: reason, now: now, on: connection)
        }
    }

    func cancel(_ id: Int, actor: String, reason: String, now: Date, on connection: PostgresConnection) async throws {
        let run = try await lockRun(id, on: connection)
        guard run.state.isActive else {
            throw StoreError(.conflict, "run \(id) is already \(run.state.rawValue)")
        }
        let open = try await connection.query("""
            SELECT name, state, attempt FROM steps WHERE run_id = \(id) AND state NOT IN ('succeeded', 'failed', 'skipped', 'cancelled') FOR UPDATE
            """, logger: logger).collect().map { try $0.decode((String, String, Int).self) }
        var changes: [(name: String, from: StepState, attempt: Int, outcome: AttemptOutcome)] = []
        for (name, state, attempt) in open {
            guard let from = StepState(rawValue: state), let outcome = StepLifecycle.outcome(of: .cancelled(reason: reason), in: from) else { continue }
            changes.append((name, from, attempt, outcome))
        }
        try await connection.query("""
            UPDATE steps s SET state = d.state, lease_owner = NULL, lease_expires_at = NULL, finished_at = \(now), error = d.error, resuming = false
            FROM unnest(\(changes.map(\.name))::text[], \(changes.map(\.from.rawValue))::text[], \(changes.map(\.outcome.state.rawValue))::text[],
                        \(changes.map { $0.outcome.error ?? reason })::text[]) AS d(name, was, state, error)
            WHERE s.run_id = \(id) AND s.name = d.name AND s.state = d.was
            """, logger: logger)
        var events = changes.map { change in
            NewEvent(runID: id, step: change.name, from: change.from.rawValue, to: change.outcome.state.rawValue, attempt: change.attempt,
                     actor: actor, reason: change.outcome.reason, at: now)
        }
        try await connection.query("UPDATE runs SET state = 'cancelled', finished_at = \(now), error = \(reason) WHERE id = \(id)", logger: logger)
        events.append(NewEvent(runID: id, from: run.state.rawValue, to: RunState.cancelled.rawValue, actor: actor, reason: reason, at: now))
        try await EventLog.append(events, on: connection, logger: logger)
        try await AuditLog.append(actor: actor, action: "run.cancelled", subject: "run:\(id)", reason: reason, details: ["workflow": .string(run.workflow)],
                                  at: now, on: connection, logger: logger)
        if let key = run.concurrencyKey { try await startNextQueued(key: key, actor: actor, now: now, on: connection) }
    }

    /// Runs a finished run again: its failed, cancelled and skipped steps (or `step` and everything
    /// downstream of it) go back to pending and start over; succeeded steps keep their outputs.
    public func retry(_ id: Int, from step: String? = nil, actor: String, now: Date) async throws {
        try await database.transaction { connection in
            let run = try await lockRun(id, on: connection)
            guard run.state.isTerminal else {
                throw StoreError(.conflict, "run \(id) is \(run.state.rawValue); only a finished run can be retried")
            }
            let snapshots = try await snapshots(ofRun: id, on: connection)
            if let step, snapshots[step] == nil {
                throw StoreError(.notFound, "run \(id) has no step '\(step)'\(Suggestion.hint(for: step, in: snapshots.keys))")
            }
            let reason = step.map { "retried from step '\($0)'" } ?? "retried"
            let changes = RunPlanner(spec: run.spec).stepsToRetry(snapshots, from: step).sorted().compactMap { name -> (String, StepState, AttemptOutcome)? in
                guard let from = snapshots[name]?.state, let outcome = StepLifecycle.outcome(of: .reopened(reason: reason), in: from) else { return nil }
                return (name, from, outcome)
            }
            guard !changes.isEmpty else { throw StoreError(.conflict, "run \(id) has no failed, cancelled or skipped step to retry") }
            let names = changes.map(\.0)
            try await connection.query("""
                UPDATE steps s SET state = d.state, outputs = NULL, error = NULL, memo = NULL, resuming = false, ready_at = NULL,
                                   started_at = NULL, finished_at = NULL
                FROM unnest(\(names)::text[], \(changes.map(\.1.rawValue))::text[], \(changes.map(\.2.state.rawValue))::text[]) AS d(name, was, state)
                WHERE s.run_id = \(id) AND s.name = d.name AND s.state = d.was
                """, logger: logger)
            try await connection.query("UPDATE runs SET state = 'running', finished_at = NULL, error = NULL WHERE id = \(id)", logger: logger)
            var events = changes.map { name, from, outcome in
                NewEvent(runID: id, step: name, from: from.rawValue, to: outcome.state.rawValue, actor: actor, reason: outcome.reason, at: now)
            }
            events.append(NewEvent(runID: id, from: run.state.rawValue, to: RunState.running.rawValue, actor: actor, reason: reason, at: now))
            try await EventLog.append(events, on: connection, logger: logger)
            try await AuditLog.append(actor: actor, action: "run.retried", subject: "run:\(id)", reason: step.map { "from step '\($0)'" },
                                      details: ["steps": .array(names.map(JSONValue.string))], at: now, on: connection, logger: logger)
            let reopened = LockedRun(id: id, workflow: run.workflow, version: run.version, state: .running, params: run.params,
                                     trigger: run.trigger, concurrencyKey: run.concurrencyKey, spec: run.spec)
            try await advance(reopened, actor: actor, now: now, on: connection)
        }
    }

    /// Records a decision on a step waiting for approval.
    ///
    /// The approver must hold one of the roles the approval names and, unless the gate allows
    /// self-approval, must not be who started the run. One rejection decides; approvals count
    /// until `quorum` distinct approvers have approved. Each counted decision is audited; so is a
    /// refused one, and then this throws.
    ///
    /// - Throws: ``StoreError`` `.forbidden` when `approver` may not decide (the refusal is
    ///   audited), `.conflict` when the step is not waiting for approval, `.notFound`.
    public func decideApproval(run id: Int, step: String, approve: Bool, approver: Approver, reason: String, now: Date) async throws {
        let refusal: (workflow: String, why: String)? = try await database.transaction { connection in
            let run = try await lockRun(id, on: connection)
            let waiting = try await waitingApproval(run: id, step: step, on: connection)
            var request = ApprovalRequest(memo: waiting.memo)
            let verdict = request.judge(approver, approve: approve, starter: run.trigger.actor)
            if case let .refused(why) = verdict { return (run.workflow, why) }
            if approve { request.approvals.append(.init(by: approver.name, reason: reason, at: now)) }
            var memo = waiting.memo
            memo["request"] = request.memoValue
            let details: [String: JSONValue] = [
                "workflow": .string(run.workflow), "approvals": .number(Double(request.approvals.count)), "quorum": .number(Double(request.quorum)),
            ]
            try await AuditLog.append(actor: approver.name, action: approve ? "run.approved" : "run.rejected", subject: "run:\(id)/\(step)", reason: reason,
                                      details: details, at: now, on: connection, logger: logger)
            if case let .counted(approvals, quorum) = verdict {
                try await connection.query("UPDATE steps SET memo = \(try JSONText.encode(memo))::jsonb WHERE run_id = \(id) AND name = \(step)", logger: logger)
                try await EventLog.append([NewEvent(runID: id, step: step, from: waiting.state, to: waiting.state, attempt: waiting.attempt, actor: approver.name,
                                                    reason: "approved (\(approvals) of \(quorum)): \(reason)", at: now)], on: connection, logger: logger)
                return nil
            }
            try await settleApproval(run, step: step, waiting: (waiting.attempt, memo), approved: approve, failure: nil,
                                     actor: approver.name, reason: reason, history: (approve ? "approved: " : "rejected: ") + reason, now: now, on: connection)
            return nil
        }
        if let refusal {
            try await AuditLog(database: database).append(
                actor: approver.name, action: "run.approval_refused", subject: "run:\(id)/\(step)", reason: refusal.why,
                details: ["workflow": .string(refusal.workflow), "decision": .string(approve ? "approve" : "reject"), "their_reason": .string(reason)], at: now
            )
            throw StoreError(.forbidden, refusal.why)
        }
    }

    /// Decides the approvals whose timeout has passed, as each one's `on_timeout` says, with actor
    /// `actor` (the worker's maintenance pass passes `vigil`).
    ///
    /// - Returns: how many were decided.
    @discardableResult
    public func expireApprovals(actor: String, now: Date) async throws -> Int {
        // Every maintenance pass asks; a transaction is opened only when something is due.
        let due = try await database.client.query("""
            SELECT run_id, name FROM steps WHERE state = 'awaiting_approval' AND ready_at <= \(now) ORDER BY run_id, name
            """, logger: logger).collect().map { try $0.decode((Int, String).self) }
        guard !due.isEmpty else { return 0 }
        return try await database.transaction { connection in
            var decided = 0
            for (id, step) in due {
                // The run first, then its step, as a person's decision locks them: never the other way round.
                let run = try await lockRun(id, on: connection)
                let still = try await connection.query("""
                    SELECT 1 FROM steps WHERE run_id = \(id) AND name = \(step) AND state = 'awaiting_approval' AND ready_at <= \(now)
                    """, logger: logger).collect()
                guard !still.isEmpty else { continue }
                let waiting = try await waitingApproval(run: id, step: step, on: connection)
                let request = ApprovalRequest(memo: waiting.memo)
                let waited = request.timeoutAt.map { " by \(ISO8601DateFormatter().string(from: $0))" } ?? ""
                let reason = "no decision\(waited) (on_timeout: \(request.onTimeout.rawValue))"
                try await AuditLog.append(actor: actor, action: "run.approval_timed_out", subject: "run:\(id)/\(step)", reason: reason,
                                          details: ["workflow": .string(run.workflow), "on_timeout": .string(request.onTimeout.rawValue),
                                                    "approvals": .number(Double(request.approvals.count)), "quorum": .number(Double(request.quorum))],
                                          at: now, on: connection, logger: logger)
                try await settleApproval(run, step: step, waiting: (waiting.attempt, waiting.memo), approved: request.onTimeout == .approve,
                                         failure: request.onTimeout == .fail ? "approval timed out: \(reason)" : nil,
                                         actor: actor, reason: reason, history: "timed out: \(reason)", now: now, on: connection)
                decided += 1
            }
            return decided
        }
    }

    /// The state, attempt and memo of a step that must be waiting for approval.
    private func waitingApproval(run id: Int, step: String, on connection: PostgresConnection) async throws -> (state: String, attempt: Int, memo: [String: JSONValue]) {
        let rows = try await connection.query(
            "SELECT state, attempt, memo::text FROM steps WHERE run_id = \(id) AND name = \(step) FOR UPDATE", logger: logger
        ).collect()
        guard let row = rows.first else { throw StoreError(.notFound, "run \(id) has no step '\(step)'") }
        let (state, attempt, memoText) = try row.decode((String, Int, String?).self)
        guard state == StepState.awaitingApproval.rawValue else {
            throw StoreError(.conflict, "step '\(step)' of run \(id) is \(state), not awaiting approval")
        }
        return (state, attempt, try memoText.map { try JSONText.decode([String: JSONValue].self, from: $0) } ?? [:])
    }

    /// Applies a final decision as ``StepLifecycle`` settles it: the step resumes to act on it, or
    /// (a rejected gate, or a timeout whose action is `fail`) fails; then the run moves on.
    /// `reason` is the decision's own, `history` the line the run's history gets.
    private func settleApproval(
        _ run: LockedRun, step: String, waiting: (attempt: Int, memo: [String: JSONValue]), approved: Bool, failure: String?,
        actor: String, reason: String, history: String, now: Date, on connection: PostgresConnection
    ) async throws {
        let end = WaitEnd.approvalSettled(approved: approved, by: actor, reason: reason, failure: failure, history: history)
        guard let outcome = StepLifecycle.outcome(of: end, waiting: .awaitingApproval, memo: waiting.memo, now: now) else { return }
        try await applyWaitOutcome(outcome, to: StepKey(runID: run.id, name: step), from: .awaitingApproval, now: now, on: connection)
        let event = NewEvent(runID: run.id, step: step, from: StepState.awaitingApproval.rawValue, to: outcome.state.rawValue,
                             attempt: waiting.attempt, actor: actor, reason: outcome.reason, at: now)
        try await EventLog.append([event], notifyingReady: outcome.state == .ready, on: connection, logger: logger)
        try await advance(run, actor: actor, now: now, on: connection)
    }

    /// Records `outcome` on step `key`, conditioned on it still waiting in `from`.
    func applyWaitOutcome(_ outcome: AttemptOutcome, to key: StepKey, from: StepState, now: Date, on connection: PostgresConnection) async throws {
        try await connection.query("""
            UPDATE steps SET state = \(outcome.state.rawValue), ready_at = \(outcome.readyAt), resuming = coalesce(\(outcome.resumes), resuming),
                             memo = coalesce(\(try outcome.memo.map(JSONText.encode))::jsonb, memo),
                             error = coalesce(\(outcome.error), error),
                             finished_at = CASE WHEN \(outcome.finished) THEN \(now) ELSE finished_at END
            WHERE run_id = \(key.runID) AND name = \(key.name) AND state = \(from.rawValue)
            """, logger: logger)
    }
}
