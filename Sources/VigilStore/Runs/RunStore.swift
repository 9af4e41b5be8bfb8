import Foundation
import Logging
import PostgresNIO
import VigilWorkflow

/// Runs, steps and their history in PostgreSQL: the engine's system of record and its only
/// coordination point. Every method takes the engine's `now`, so an injected clock governs time.
public struct RunStore: Sendable {
    public let database: Database
    let specs: SpecCache

    public init(database: Database) {
        self.database = database
        specs = SpecCache()
    }

    var logger: Logger { database.logger }

    /// How a new run is grouped with others (the workflow's `concurrency:` with its key evaluated).
    public struct ConcurrencyRule: Sendable {
        public var key: String
        public var policy: Concurrency.Policy

        public init(key: String, policy: Concurrency.Policy) {
            self.key = key
            self.policy = policy
        }
    }

    /// Creates a run of a stored workflow version and makes its first steps ready.
    ///
    /// - Parameters:
    ///   - idempotencyKey: a run with this key already existing is returned instead of a new one.
    ///   - concurrency: with `skip`, no run is created while one with the key is going; with
    ///     `cancel`, going runs are cancelled; with `queue`, the new run waits its turn.
    public func createRun(
        _ version: WorkflowVersion, params: [String: JSONValue], trigger: RunTrigger, idempotencyKey: String? = nil,
        concurrency: ConcurrencyRule? = nil, scheduledFor: Date? = nil, now: Date
    ) async throws -> RunCreation {
        try await database.transaction { connection in
            try await createRun(
                version, params: params, trigger: trigger, idempotencyKey: idempotencyKey,
                concurrency: concurrency, scheduledFor: scheduledFor, now: now, on: connection
            )
        }
    }

    func createRun(
        _ version: WorkflowVersion, params: [String: JSONValue], trigger: RunTrigger, idempotencyKey: String?,
        concurrency: ConcurrencyRule?, scheduledFor: Date?, now: Date, on connection: PostgresConnection
    ) async throws -> RunCreation {
        if let idempotencyKey, let existing = try await runID(idempotencyKey: idempotencyKey, on: connection) {
            return .existing(existing)
        }
        try await WorkflowStore.checkRunnable(version.workflow, on: connection, logger: logger)
        var waitBehind: Int?
        if let concurrency {
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("vigil:run:" + concurrency.key)))", logger: logger)
            let active = try await connection.query(
                "SELECT id FROM runs WHERE concurrency_key = \(concurrency.key) AND state IN ('queued', 'running', 'waiting') ORDER BY id",
                logger: logger
            ).collect().map { try $0.decode(Int.self) }
            if let first = active.first {
                switch concurrency.policy {
                case .skip: return .skipped(becauseOf: first)
                case .cancel:
                    for id in active {
                        try await cancel(id, actor: trigger.actor, reason: "superseded by a new run (concurrency policy cancel)", now: now, on: connection)
                    }
                case .queue: waitBehind = active.last
                }
            }
        }
        let paramsJSON = try JSONText.encode(params)
        let triggerJSON = try JSONText.encode(trigger)
        let inserted = try await connection.query("""
            INSERT INTO runs (workflow, workflow_version, params, trigger, concurrency_key, idempotency_key, scheduled_for, created_at)
            VALUES (\(version.workflow), \(version.version), \(paramsJSON)::jsonb, \(triggerJSON)::jsonb, \(concurrency?.key),
                    \(idempotencyKey), \(scheduledFor), \(now))
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id
            """, logger: logger).collect().first.map { try $0.decode(Int.self) }
        guard let id = inserted else {
            // Another transaction created it between our check and insert.
            return .existing(try await runID(idempotencyKey: idempotencyKey!, on: connection)!)
        }
        let spec = version.spec
        try await connection.query("""
            INSERT INTO steps (run_id, name, type, needs, idempotency_key)
            SELECT \(id), name, type, coalesce(string_to_array(NULLIF(needs, ''), ','), '{}'), 'run-' || \(id) || '-' || name
            FROM unnest(\(spec.steps.map(\.name))::text[], \(spec.steps.map(\.uses))::text[], \(spec.steps.map { $0.needs.joined(separator: ",") })::text[])
                AS s(name, type, needs)
            """, logger: logger)
        var reason = "triggered by \(trigger.kind.rawValue)" + (trigger.name.map { " '\($0)'" } ?? "")
        if let waitBehind { reason += "; waits for run \(waitBehind) (concurrency policy queue)" }
        var changes = RunChanges(events: [NewEvent(runID: id, to: RunState.queued.rawValue, actor: trigger.actor, reason: reason, at: now)])
        // Every start is audited here, whoever asked: a person (CLI, API), the scheduler, a trigger or an alert.
        var cause: [String: JSONValue] = [
            "workflow": .string(version.workflow), "version": .number(Double(version.version)), "trigger": .string(trigger.kind.rawValue),
        ]
        if let name = trigger.name { cause["name"] = .string(name) }
        if let fingerprint = trigger.fingerprint { cause["fingerprint"] = .string(fingerprint) }
        if let waitBehind { cause["waits_for_run"] = .number(Double(waitBehind)) }
        try await AuditLog.append(actor: trigger.actor, action: "run.triggered", subject: "run:\(id)", reason: reason, details: cause, at: now, on: connection, logger: logger)
        if waitBehind == nil {
            // This transaction has just written the run and its pending steps, and no other can
            // see them yet: the planner is given them rather than reading them back.
            let run = LockedRun(
                id: id, workflow: version.workflow, version: version.version, state: .queued, params: params, trigger: trigger,
                concurrencyKey: concurrency?.key, spec: spec
            )
            let steps = Dictionary(uniqueKeysWithValues: spec.steps.map { ($0.name, RunPlanner.Snapshot(state: .pending)) })
            try await advance([run], actor: trigger.actor, now: now, knownSteps: [id: steps], collecting: &changes, on: connection)
        }
        try await changes.write(on: connection, logger: logger)
        return .created(id)
    }

    private func runID(idempotencyKey: String, on connection: PostgresConnection) async throws -> Int? {
        try await connection.query("SELECT id FROM runs WHERE idempotency_key = \(idempotencyKey)", logger: logger)
            .collect().first.map { try $0.decode(Int.self) }
    }

    // MARK: Reading

    /// Runs, newest first; `offset` skips that many (for pages).
    public func list(workflow: String? = nil, state: RunState? = nil, limit: Int = 50, offset: Int = 0) async throws -> [RunSummary] {
        let rows = try await database.client.query("""
            SELECT id, workflow, workflow_version, state, trigger::text, created_at, started_at, finished_at, error FROM runs
            WHERE (\(workflow)::text IS NULL OR workflow = \(workflow)) AND (\(state?.rawValue)::text IS NULL OR state = \(state?.rawValue))
            ORDER BY id DESC LIMIT \(limit) OFFSET \(offset)
            """, logger: logger)
        var runs: [RunSummary] = []
        for try await row in rows.decode((Int, String, Int, String, String, Date, Date?, Date?, String?).self) {
            runs.append(try RunSummary(row))
        }
        return runs
    }

    /// One run.
    ///
    /// - Throws: ``StoreError`` `.notFound`.
    public func run(_ id: Int) async throws -> RunSummary {
        let rows = try await database.client.query("""
            SELECT id, workflow, workflow_version, state, trigger::text, created_at, started_at, finished_at, error FROM runs WHERE id = \(id)
            """, logger: logger)
        for try await row in rows.decode((Int, String, Int, String, String, Date, Date?, Date?, String?).self) {
            return try RunSummary(row)
        }
        throw StoreError(.notFound, "no run \(id)")
    }

    /// A run's steps in workflow order.
    public func steps(ofRun id: Int) async throws -> [StepRecord] {
        let rows = try await database.client.query("""
            SELECT s.run_id, s.name, s.type, s.state, s.needs, s.attempt, s.ready_at, s.lease_owner, s.started_at, s.finished_at,
                   s.outputs::text, s.error, s.idempotency_key
            FROM steps s JOIN runs r ON r.id = s.run_id
            JOIN workflow_versions v ON v.workflow = r.workflow AND v.version = r.workflow_version
            WHERE s.run_id = \(id)
            ORDER BY (SELECT ordinality FROM jsonb_array_elements(v.spec -> 'steps') WITH ORDINALITY e(step, ordinality) WHERE e.step ->> 'name' = s.name)
            """, logger: logger)
        var steps: [StepRecord] = []
        for try await (runID, name, type, state, needs, attempt, readyAt, owner, startedAt, finishedAt, outputs, error, key)
            in rows.decode((Int, String, String, String, [String], Int, Date?, String?, Date?, Date?, String?, String?, String).self) {
            steps.append(StepRecord(
                runID: runID, name: name, type: type, state: StepState(rawValue: state) ?? .pending, needs: needs, attempt: attempt,
                readyAt: readyAt, leaseOwner: owner, startedAt: startedAt, finishedAt: finishedAt,
                outputs: try outputs.map { try JSONText.decode([String: JSONValue].self, from: $0) }, error: error, idempotencyKey: key
            ))
        }
        return steps
    }

    /// How many runs with an id up to `id` have not finished yet.
    public func unfinishedRunCount(throughID id: Int) async throws -> Int {
        try await database.client.query("""
            SELECT count(*) FROM runs WHERE id <= \(id) AND state NOT IN ('succeeded', 'failed', 'cancelled')
            """, logger: logger).decode(Int.self).first { _ in true } ?? 0
    }

    /// Milliseconds from each step of `runs` becoming ready to a worker starting it, from the
    /// runs' events (one value per start).
    public func dispatchLatencies(ofRuns runs: [Int]) async throws -> [Double] {
        let rows = try await database.client.query("""
            SELECT (extract(epoch FROM (r.at - p.at)) * 1000)::float8 FROM run_events r
            JOIN LATERAL (SELECT at FROM run_events p WHERE p.run_id = r.run_id AND p.step = r.step AND p.to_state = 'ready' AND p.id < r.id ORDER BY p.id DESC LIMIT 1) p ON true
            WHERE r.run_id = ANY(\(runs)::bigint[]) AND r.to_state = 'running' AND r.step IS NOT NULL
            """, logger: logger)
        var values: [Double] = []
        for try await value in rows.decode(Double.self) { values.append(value) }
        return values
    }

    /// A run's full history, oldest first.
    public func events(ofRun id: Int) async throws -> [RunEvent] {
        let rows = try await database.client.query("""
            SELECT id, run_id, step, from_state, to_state, attempt, actor, reason, at FROM run_events WHERE run_id = \(id) ORDER BY id
            """, logger: logger)
        var events: [RunEvent] = []
        for try await (eventID, runID, step, from, to, attempt, actor, reason, at)
            in rows.decode((Int, Int, String?, String?, String, Int?, String, String?, Date).self) {
            events.append(RunEvent(id: eventID, runID: runID, step: step, fromState: from, toState: to, attempt: attempt, actor: actor, reason: reason, at: at))
        }
        return events
    }

    /// A step's log lines, oldest first.
    public func logs(ofRun id: Int, step: String) async throws -> [(attempt: Int, stream: String, line: String)] {
        let rows = try await database.client.query(
            "SELECT attempt, stream, line FROM step_logs WHERE run_id = \(id) AND step = \(step) ORDER BY id", logger: logger
        )
        var lines: [(attempt: Int, stream: String, line: String)] = []
        for try await (attempt, stream, line) in rows.decode((Int, String, String).self) { lines.append((attempt, stream, line)) }
        return lines
    }

    /// Appends log lines of one step attempt.
    public func appendLog(runID: Int, step: String, attempt: Int, stream: String, lines: [String], now: Date) async throws {
        guard !lines.isEmpty else { return }
        try await database.client.query("""
            INSERT INTO step_logs (run_id, step, attempt, stream, line, at)
            SELECT \(runID), \(step), \(attempt), \(stream), line, \(now) FROM unnest(\(lines)::text[]) AS l(line)
            """, logger: logger)
    }
}

extension RunSummary {
    init(_ row: (Int, String, Int, String, String, Date, Date?, Date?, String?)) throws {
        self.init(
            id: row.0, workflow: row.1, workflowVersion: row.2, state: RunState(rawValue: row.3) ?? .queued,
            trigger: try JSONText.decode(RunTrigger.self, from: row.4), createdAt: row.5, startedAt: row.6, finishedAt: row.7, error: row.8
        )
    }
}

/// JSON in and out of `jsonb` columns, as text.
enum JSONText {
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from text: String) throws -> Value {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

/// What a step reads about its run: parameters, trigger, and every finished step's outputs.
public struct RunContext: Sendable {
    public let params: [String: JSONValue]
    public let trigger: RunTrigger
    public let steps: [String: ExpressionContext.StepResult]

    public init(params: [String: JSONValue], trigger: RunTrigger, steps: [String: ExpressionContext.StepResult]) {
        self.params = params
        self.trigger = trigger
        self.steps = steps
    }
}

extension RunStore {
    /// The run-level inputs of a step about to run.
    public func context(ofRun id: Int) async throws -> RunContext {
        let rows = try await database.client.query("""
            SELECT r.params::text, r.trigger::text,
                   coalesce((SELECT jsonb_object_agg(name, jsonb_build_object('state', state, 'outputs', coalesce(outputs, '{}'::jsonb)))::text
                             FROM steps WHERE run_id = r.id AND state IN ('succeeded', 'failed', 'skipped', 'cancelled')), '{}')
            FROM runs r WHERE r.id = \(id)
            """, logger: logger)
        for try await (params, trigger, steps) in rows.decode((String, String, String).self) {
            let finished = try JSONText.decode([String: JSONValue].self, from: steps).mapValues { value in
                var outputs: [String: JSONValue] = [:]
                if case let .object(object)? = value["outputs"] { outputs = object }
                return ExpressionContext.StepResult(state: value["state"]?.stringValue ?? "", outputs: outputs)
            }
            return RunContext(params: try JSONText.decode([String: JSONValue].self, from: params), trigger: try JSONText.decode(RunTrigger.self, from: trigger), steps: finished)
        }
        throw StoreError(.notFound, "no run \(id)")
    }

    /// The spec of a stored workflow version (cached: versions never change).
    public func spec(_ workflow: String, version: Int) async throws -> WorkflowSpec {
        if let spec = specs.cached(workflow, version: version) { return spec }
        return try await database.client.withConnection { connection in
            try await specs.spec(workflow, version: version, on: connection, logger: logger)
        }
    }
}
