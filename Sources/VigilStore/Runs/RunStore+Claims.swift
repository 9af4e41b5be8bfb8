import Foundation
import PostgresNIO
import VigilWorkflow

/// A step a worker has leased and must run.
public struct ClaimedStep: Sendable {
    public let runID: Int
    public let name: String
    public let type: String
    /// 1 for the first attempt; unchanged when resuming after a sleep or an approval.
    public let attempt: Int
    public let resuming: Bool
    /// What the step kept when it suspended itself, and any approval decision.
    public let memo: [String: JSONValue]?
    public let idempotencyKey: String
    public let workflow: String
    public let workflowVersion: Int
    /// The run's parameters and trigger, so most steps need no further query to start.
    public let params: [String: JSONValue]
    public let trigger: RunTrigger
}

/// What running a step came to, for ``RunStore/finish(_:worker:now:)``.
public struct StepCompletion: Sendable {
    public let runID: Int
    public let name: String
    public let attempt: Int
    /// How the attempt ended; ``StepLifecycle`` decides what follows.
    public let result: AttemptEnd

    public init(runID: Int, name: String, attempt: Int, result: AttemptEnd) {
        self.runID = runID
        self.name = name
        self.attempt = attempt
        self.result = result
    }
}

extension RunStore {
    /// Leases up to `limit` ready steps to `worker` until `now + lease`, skipping rows other workers
    /// are claiming, and marks their runs running.
    ///
    /// One statement, so one round trip: it claims the steps, starts their runs, and appends both
    /// to the history (steps first, then runs, as a batch of changes always is).
    public func claim(worker: String, limit: Int, lease: TimeInterval, now: Date) async throws -> [ClaimedStep] {
        guard limit > 0 else { return [] }
        let rows = try await database.client.query("""
            WITH claimable AS (
                SELECT run_id, name FROM steps WHERE state = 'ready' AND ready_at <= \(now)
                ORDER BY ready_at, run_id LIMIT \(limit) FOR UPDATE SKIP LOCKED
            ), claimed AS (
                UPDATE steps s SET state = 'running', attempt = CASE WHEN s.resuming THEN s.attempt ELSE s.attempt + 1 END,
                                   lease_owner = \(worker), lease_expires_at = \(now.addingTimeInterval(lease)), lease_seconds = \(lease),
                                   started_at = coalesce(s.started_at, \(now))
                FROM claimable c
                WHERE s.run_id = c.run_id AND s.name = c.name
                RETURNING s.run_id, s.name, s.type, s.attempt, s.resuming, s.memo, s.idempotency_key
            ), old AS (
                SELECT id, state FROM runs WHERE id IN (SELECT run_id FROM claimed) AND state IN ('queued', 'waiting') ORDER BY id FOR UPDATE
            ), started AS (
                UPDATE runs r SET state = 'running', started_at = coalesce(r.started_at, \(now)) FROM old WHERE r.id = old.id
                RETURNING r.id, old.state AS was
            ), history AS (
                INSERT INTO run_events (\(unescaped: EventLog.columns))
                SELECT run_id, step, from_state, 'running', attempt, \(worker), reason, \(now) FROM (
                    SELECT 0 AS kind, run_id, name AS step, 'ready' AS from_state, attempt,
                           CASE WHEN resuming THEN 'resumed' ELSE 'claimed' END AS reason FROM claimed
                    UNION ALL
                    SELECT 1, id, NULL, was, NULL, 'a step started' FROM started
                ) e ORDER BY kind, run_id, step
            )
            SELECT c.run_id, c.name, c.type, c.attempt, c.resuming, c.memo::text, c.idempotency_key, r.workflow, r.workflow_version,
                   r.params::text, r.trigger::text
            FROM claimed c JOIN runs r ON r.id = c.run_id
            ORDER BY c.run_id, c.name
            """, logger: logger)
        var claimed: [ClaimedStep] = []
        for try await (runID, name, type, attempt, resuming, memo, key, workflow, version, params, trigger)
            in rows.decode((Int, String, String, Int, Bool, String?, String, String, Int, String, String).self) {
            claimed.append(ClaimedStep(
                runID: runID, name: name, type: type, attempt: attempt, resuming: resuming,
                memo: try memo.map { try JSONText.decode([String: JSONValue].self, from: $0) }, idempotencyKey: key,
                workflow: workflow, workflowVersion: version,
                params: try JSONText.decode([String: JSONValue].self, from: params), trigger: try JSONText.decode(RunTrigger.self, from: trigger)
            ))
        }
        return claimed
    }

    /// Calls `ready` each time a transaction makes steps ready (`NOTIFY vigil_ready`), on one
    /// connection held until the calling task is cancelled or the connection fails (then throws).
    public func listenForReadySteps(_ ready: @escaping @Sendable () -> Void) async throws {
        try await database.client.withConnection { connection in
            try await connection.listen(on: EventLog.readyChannel) { notifications in
                for try await _ in notifications { ready() }
            }
        }
    }

    /// Extends `worker`'s leases on `steps`; returns the steps whose lease it still holds.
    public func renewLeases(worker: String, steps: [StepKey], lease: TimeInterval, now: Date) async throws -> Set<StepKey> {
        guard !steps.isEmpty else { return [] }
        let rows = try await database.client.query("""
            UPDATE steps s SET lease_expires_at = \(now.addingTimeInterval(lease))
            FROM unnest(\(steps.map(\.runID))::bigint[], \(steps.map(\.name))::text[]) AS k(run_id, name)
            WHERE s.run_id = k.run_id AND s.name = k.name AND s.state = 'running' AND s.lease_owner = \(worker)
            RETURNING s.run_id, s.name
            """, logger: logger)
        var held = Set<StepKey>()
        for try await (runID, name) in rows.decode((Int, String).self) { held.insert(StepKey(runID: runID, name: name)) }
        return held
    }

    /// Hands running steps back as ready (a worker draining, or a lease that expired), as a new attempt.
    ///
    /// A lease that expired ended its attempt as surely as a failure: when the step has started
    /// as many attempts as its retry policy allows (``RetryPolicy/attemptsBeforeWorkerLossFails(_:)``),
    /// it fails instead, with a reason that names the lost worker, and its run moves on as after
    /// any failure. A worker draining hands its steps back without that counting against them.
    ///
    /// - Parameters:
    ///   - owner: only `owner`'s steps (draining), or any whose lease expired before `now` when `nil`.
    /// - Returns: how many steps were handed back or failed.
    @discardableResult
    public func releaseLeases(owner: String?, actor: String, now: Date) async throws -> Int {
        try await database.transaction { connection in
            let rows = try await connection.query("""
                SELECT s.run_id, s.name, s.lease_owner, s.attempt, s.lease_seconds, r.workflow, r.workflow_version
                FROM steps s JOIN runs r ON r.id = s.run_id
                WHERE s.state = 'running' AND (CASE WHEN \(owner)::text IS NULL THEN s.lease_expires_at < \(now) ELSE s.lease_owner = \(owner) END)
                ORDER BY s.run_id, s.name
                FOR UPDATE OF s SKIP LOCKED
                """, logger: logger)
            var handedBack: [(runID: Int, name: String, attempt: Int, reason: String, newAttempt: Bool)] = []
            var lost: [(runID: Int, name: String, attempt: Int, reason: String)] = []
            for try await (runID, name, previous, attempt, leaseSeconds, workflow, version) in rows.decode((Int, String, String?, Int, Double?, String, Int).self) {
                let end: AttemptEnd = owner == nil ? .leaseExpired(worker: previous, lease: leaseSeconds) : .handedBack(by: previous ?? actor)
                let spec = try await specs.spec(workflow, version: version, on: connection, logger: logger)
                let step = RunningStep(attempt: attempt, retry: spec.step(named: name)?.retry ?? spec.defaults.retry)
                let outcome = StepLifecycle.outcome(of: end, for: step, now: now, jitter: 0)
                if outcome.state == .failed {
                    lost.append((runID, name, attempt, outcome.reason ?? ""))
                } else {
                    handedBack.append((runID, name, attempt, outcome.reason ?? "", outcome.resumes == false))
                }
            }
            // Nothing to hand back (most passes) costs one statement.
            guard !handedBack.isEmpty || !lost.isEmpty else { return 0 }
            try await connection.query("""
                UPDATE steps s SET state = 'ready', ready_at = \(now), lease_owner = NULL, lease_expires_at = NULL,
                                   resuming = CASE WHEN k.new_attempt THEN false ELSE s.resuming END
                FROM unnest(\(handedBack.map(\.runID))::bigint[], \(handedBack.map(\.name))::text[], \(handedBack.map(\.newAttempt))::bool[]) AS k(run_id, name, new_attempt)
                WHERE s.run_id = k.run_id AND s.name = k.name AND s.state = 'running'
                """, logger: logger)
            try await connection.query("""
                UPDATE steps s SET state = 'failed', error = k.reason, finished_at = \(now), lease_owner = NULL, lease_expires_at = NULL, resuming = false
                FROM unnest(\(lost.map(\.runID))::bigint[], \(lost.map(\.name))::text[], \(lost.map(\.reason))::text[]) AS k(run_id, name, reason)
                WHERE s.run_id = k.run_id AND s.name = k.name AND s.state = 'running'
                """, logger: logger)
            let events = handedBack.map {
                NewEvent(runID: $0.runID, step: $0.name, from: StepState.running.rawValue, to: StepState.ready.rawValue, attempt: $0.attempt, actor: actor, reason: $0.reason, at: now)
            } + lost.map {
                NewEvent(runID: $0.runID, step: $0.name, from: StepState.running.rawValue, to: StepState.failed.rawValue, attempt: $0.attempt, actor: actor, reason: $0.reason, at: now)
            }
            var changes = RunChanges(events: events, madeReady: !handedBack.isEmpty)
            try await advance(try await lockRuns(Set(lost.map(\.runID)).sorted(), on: connection), actor: actor, now: now, collecting: &changes, on: connection)
            try await changes.write(on: connection, logger: logger)
            return handedBack.count + lost.count
        }
    }

    /// Makes retrying and sleeping steps whose time has come ready.
    @discardableResult
    public func wakeDueSteps(actor: String, now: Date) async throws -> Int {
        try await database.transaction { connection in
            let rows = try await connection.query("""
                SELECT run_id, name, state, attempt FROM steps WHERE state IN ('retrying', 'sleeping') AND ready_at <= \(now)
                ORDER BY run_id, name FOR UPDATE SKIP LOCKED
                """, logger: logger)
            var events: [NewEvent] = []
            var woken: [(key: StepKey, outcome: AttemptOutcome)] = []
            for try await (runID, name, from, attempt) in rows.decode((Int, String, String, Int).self) {
                guard let state = StepState(rawValue: from), let outcome = StepLifecycle.outcome(of: .timeCame, waiting: state, memo: nil, now: now) else { continue }
                woken.append((StepKey(runID: runID, name: name), outcome))
                events.append(NewEvent(runID: runID, step: name, from: from, to: outcome.state.rawValue, attempt: attempt, actor: actor, reason: outcome.reason, at: now))
            }
            guard !woken.isEmpty else { return 0 }
            try await connection.query("""
                UPDATE steps s SET state = w.state, resuming = w.resumes
                FROM unnest(\(woken.map(\.key.runID))::bigint[], \(woken.map(\.key.name))::text[], \(woken.map(\.outcome.state.rawValue))::text[],
                            \(woken.map { $0.outcome.resumes ?? false })::bool[]) AS w(run_id, name, state, resumes)
                WHERE s.run_id = w.run_id AND s.name = w.name AND s.state IN ('retrying', 'sleeping')
                """, logger: logger)
            try await EventLog.append(events, notifyingReady: !events.isEmpty, on: connection, logger: logger)
            return events.count
        }
    }

    /// What could make progress at `now`, and the latest change recorded.
    public struct WorkInProgress: Sendable {
        /// Queued or running runs, ready or running steps, and retrying or sleeping steps whose
        /// time has come. Zero means every run waits for a later time or a person, so a driver of a
        /// manual clock may move time on.
        public let count: Int
        /// The newest entry of the run history (0 when it is empty): while it moves, the engine
        /// is making progress.
        public let lastEvent: Int
    }

    /// What could make progress at `now`; see ``WorkInProgress``.
    public func workInProgress(now: Date) async throws -> WorkInProgress {
        let rows = try await database.client.query("""
            SELECT (SELECT count(*) FROM runs WHERE state IN ('queued', 'running'))
                 + (SELECT count(*) FROM steps WHERE state IN ('ready', 'running') OR (state IN ('retrying', 'sleeping') AND ready_at <= \(now))),
                   (SELECT coalesce(max(id), 0) FROM run_events)
            """, logger: logger)
        for try await (count, lastEvent) in rows.decode((Int, Int).self) { return WorkInProgress(count: count, lastEvent: lastEvent) }
        return WorkInProgress(count: 0, lastEvent: 0)
    }

    /// Records what running steps came to, in one transaction, and advances their runs.
    ///
    /// A completion whose lease `worker` no longer holds (it expired and another worker took the
    /// step, or the run was cancelled) is discarded and reported, so a step finishes exactly once.
    ///
    /// - Returns: the steps whose completions were accepted.
    @discardableResult
    public func finish(_ completions: [StepCompletion], worker: String, now: Date) async throws -> Set<StepKey> {
        guard !completions.isEmpty else { return [] }
        return try await database.transaction { connection in
            // One statement locks the steps whose lease `worker` still holds and their runs (steps
            // first, as before), and records the successes among them (the common case); other
            // ends are decided below, one by one. The runs' steps are read after it, once every
            // lock is held, so the planner sees what other workers committed meanwhile.
            let outputs = try completions.map { completion -> String? in
                guard case let .succeeded(outputs) = completion.result else { return nil }
                return try JSONText.encode(outputs)
            }
            let rows = try await connection.query("""
                WITH held AS (
                    SELECT \(unescaped: Self.lockedRunColumns), s.name, k.outputs, k.succeeded FROM steps s
                    JOIN runs r ON r.id = s.run_id
                    JOIN unnest(\(completions.map(\.runID))::bigint[], \(completions.map(\.name))::text[], \(completions.map(\.attempt))::int[],
                                \(outputs.map { $0 ?? "" })::text[], \(outputs.map { $0 != nil })::bool[]) AS k(run_id, name, attempt, outputs, succeeded)
                      ON s.run_id = k.run_id AND s.name = k.name AND s.attempt = k.attempt
                    WHERE s.state = 'running' AND s.lease_owner = \(worker)
                    ORDER BY s.run_id, s.name
                    FOR UPDATE OF s, r
                ), recorded AS (
                    UPDATE steps s SET state = 'succeeded', outputs = h.outputs::jsonb, finished_at = \(now),
                                       lease_owner = NULL, lease_expires_at = NULL, resuming = false, error = NULL
                    FROM held h WHERE s.run_id = h.id AND s.name = h.name AND h.succeeded
                )
                SELECT id, workflow, workflow_version, state, params, trigger, concurrency_key, name FROM held
                """, logger: logger).collect()
            var held = Set<StepKey>()
            var runs: [Int: LockedRun] = [:]
            for row in rows {
                // Decoded after the rows are in: a spec not yet cached is read on this same connection.
                let (id, workflow, version, state, params, trigger, key, name) = try row.decode((Int, String, Int, String, String, String, String?, String).self)
                held.insert(StepKey(runID: id, name: name))
                if runs[id] == nil { runs[id] = try await lockedRun((id, workflow, version, state, params, trigger, key), on: connection) }
            }
            let accepted = completions.filter { held.contains($0.key) }
            guard !accepted.isEmpty else { return [] }

            var events: [NewEvent] = []
            for completion in accepted {
                guard let spec = runs[completion.runID]?.spec else { continue }
                let step = RunningStep(attempt: completion.attempt, retry: spec.step(named: completion.name)?.retry ?? spec.defaults.retry)
                let outcome = StepLifecycle.outcome(of: completion.result, for: step, now: now, jitter: Double.random(in: 0...1))
                if outcome.state != .succeeded {
                    try await apply(outcome, to: completion.key, now: now, on: connection)
                }
                events.append(NewEvent(runID: completion.runID, step: completion.name, from: StepState.running.rawValue, to: outcome.state.rawValue,
                                       attempt: completion.attempt, actor: worker, reason: outcome.reason, at: now))
            }
            var changes = RunChanges(events: events)
            try await advance(runs.values.sorted { $0.id < $1.id }, actor: worker, now: now, collecting: &changes, on: connection)
            try await changes.write(on: connection, logger: logger)
            return Set(accepted.map(\.key))
        }
    }

    /// Records `outcome` on the running step `key`: the state the lifecycle chose, with what goes
    /// with it. Conditioned on the step still running, so it never overwrites a later change.
    private func apply(_ outcome: AttemptOutcome, to key: StepKey, now: Date, on connection: PostgresConnection) async throws {
        try await connection.query("""
            UPDATE steps SET state = \(outcome.state.rawValue), ready_at = \(outcome.readyAt),
                             error = CASE WHEN \(outcome.state == .succeeded) THEN NULL ELSE coalesce(\(outcome.error), error) END,
                             outputs = coalesce(\(try outcome.outputs.map(JSONText.encode))::jsonb, outputs),
                             memo = coalesce(\(try outcome.memo.map(JSONText.encode))::jsonb, memo),
                             finished_at = CASE WHEN \(outcome.finished) THEN \(now) ELSE NULL END,
                             lease_owner = NULL, lease_expires_at = NULL,
                             resuming = coalesce(\(outcome.resumes), resuming)
            WHERE run_id = \(key.runID) AND name = \(key.name) AND state = 'running'
            """, logger: logger)
    }
}
