import Foundation
import Logging
import PostgresNIO
import VigilWorkflow

/// Workflows in PostgreSQL, versioned by the hash of their content.
///
/// Applying a file whose content is already stored is a no-op; a changed file becomes the next
/// version. Versions are never changed or deleted, so a run can pin the version it started on.
public struct WorkflowStore: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Stores every file in one transaction: all are applied, or none.
    ///
    /// - Parameters:
    ///   - actor: who applies them, recorded with each new version.
    ///   - now: when, on the engine's clock: a schedule's first tick comes after it.
    public func apply(_ files: [WorkflowFile], actor: String, now: Date = Date()) async throws -> [AppliedWorkflow] {
        let logger = database.logger
        return try await database.transaction { connection in
            var results: [AppliedWorkflow] = []
            for file in files {
                results.append(try await Self.apply(file, actor: actor, now: now, on: connection, logger: logger))
            }
            return results
        }
    }

    private static func apply(_ file: WorkflowFile, actor: String, now: Date, on connection: PostgresConnection, logger: Logger) async throws -> AppliedWorkflow {
        let name = file.spec.name
        let hash = file.source.sha256Hex
        try await connection.query("INSERT INTO workflows (name) VALUES (\(name)) ON CONFLICT (name) DO NOTHING", logger: logger)
        // The row lock serialises concurrent applies of the same workflow, so versions stay dense.
        let state = try await connection.query("SELECT state FROM workflows WHERE name = \(name) FOR UPDATE", logger: logger)
            .decode(String.self).first { _ in true }
        if state == WorkflowState.deleted.rawValue {
            throw StoreError(.conflict, "\(file.path): workflow '\(name)' was deleted; `vigil workflows enable \(name)` brings it back before a new version is applied")
        }
        let existing = try await connection.query(
            "SELECT version FROM workflow_versions WHERE workflow = \(name) AND content_hash = \(hash)", logger: logger
        ).decode(Int.self).first { _ in true }
        if let existing { return AppliedWorkflow(workflow: name, version: existing, isNew: false) }
        let next = try await connection.query(
            "SELECT coalesce(max(version), 0) + 1 FROM workflow_versions WHERE workflow = \(name)", logger: logger
        ).decode(Int.self).first { _ in true } ?? 1
        let spec = String(decoding: try JSONEncoder().encode(file.spec), as: UTF8.self)
        try await connection.query("""
            INSERT INTO workflow_versions (workflow, version, content_hash, source, spec, applied_at, applied_by)
            VALUES (\(name), \(next), \(hash), \(file.source), \(spec)::jsonb, \(now), \(actor))
            """, logger: logger)
        try await AuditLog.append(actor: actor, action: "workflow.applied", subject: "workflow:\(name)", reason: nil,
                                  details: ["version": .number(Double(next)), "content_hash": .string(hash), "file": .string(file.path)],
                                  at: now, on: connection, logger: logger)
        return AppliedWorkflow(workflow: name, version: next, isNew: true)
    }

    /// The models whose latest workflow marks them `sensitive: true`.
    public func sensitiveModels() async throws -> Set<String> {
        let rows = try await database.client.query("""
            SELECT DISTINCT v.spec ->> 'model' FROM workflow_versions v
            JOIN (SELECT workflow, max(version) AS latest FROM workflow_versions GROUP BY workflow) l ON l.workflow = v.workflow AND l.latest = v.version
            WHERE v.spec ->> 'model' IS NOT NULL AND coalesce((v.spec ->> 'sensitive')::boolean, false)
            """, logger: database.logger)
        var models = Set<String>()
        for try await model in rows.decode(String.self) { models.insert(model) }
        return models
    }

    /// Every workflow with its latest version and state; deleted ones only with `includingDeleted`.
    public func list(includingDeleted: Bool = false) async throws -> [WorkflowSummary] {
        let rows = try await database.client.query("""
            SELECT v.workflow, v.version, counts.versions, v.applied_at, v.applied_by, jsonb_array_length(v.spec -> 'steps'), w.state
            FROM workflow_versions v
            JOIN (SELECT workflow, max(version) AS latest, count(*)::int AS versions FROM workflow_versions GROUP BY workflow) counts
              ON counts.workflow = v.workflow AND counts.latest = v.version
            JOIN workflows w ON w.name = v.workflow
            WHERE \(includingDeleted) OR w.state <> 'deleted'
            ORDER BY v.workflow
            """, logger: database.logger)
        var summaries: [WorkflowSummary] = []
        for try await (name, version, count, appliedAt, appliedBy, steps, state) in rows.decode((String, Int, Int, Date, String, Int, String).self) {
            summaries.append(WorkflowSummary(name: name, latestVersion: version, versionCount: count, appliedAt: appliedAt, appliedBy: appliedBy,
                                             stepCount: steps, state: WorkflowState(rawValue: state) ?? .enabled))
        }
        return summaries
    }

    /// A stored version: the latest, or `version`.
    ///
    /// - Throws: ``StoreError`` `.notFound` naming what is missing.
    public func version(of name: String, _ version: Int? = nil) async throws -> WorkflowVersion {
        let rows = try await database.client.query("""
            SELECT workflow, version, content_hash, source, spec::text, applied_at, applied_by FROM workflow_versions
            WHERE workflow = \(name) AND (\(version)::int IS NULL OR version = \(version))
            ORDER BY version DESC LIMIT 1
            """, logger: database.logger)
        if let found = try await Self.firstVersion(rows) { return found }
        let known = try await list(includingDeleted: true).map(\.name)
        if let version, known.contains(name) {
            throw StoreError(.notFound, "workflow '\(name)' has no version \(version)")
        }
        throw StoreError(.notFound, "no workflow named '\(name)' has been applied" + (known.isEmpty ? "; run vigil apply first" : " (known: \(known.joined(separator: ", ")))"))
    }
}

extension WorkflowStore {
    /// The latest applied version of the workflow that monitors `model` (declares it with `data`),
    /// most recently applied first; `nil` when none does.
    public func monitoringWorkflow(forModel model: String) async throws -> WorkflowVersion? {
        try await database.client.withConnection { connection in
            try await Self.monitoringWorkflow(forModel: model, on: connection, logger: database.logger)
        }
    }

    /// ``monitoringWorkflow(forModel:)`` read on `connection` (inside the caller's transaction).
    static func monitoringWorkflow(forModel model: String, on connection: PostgresConnection, logger: Logger) async throws -> WorkflowVersion? {
        let rows = try await connection.query("""
            SELECT v.workflow, v.version, v.content_hash, v.source, v.spec::text, v.applied_at, v.applied_by
            FROM workflow_versions v JOIN workflows d ON d.name = v.workflow AND d.state <> 'deleted'
            WHERE v.version = (SELECT max(version) FROM workflow_versions w WHERE w.workflow = v.workflow)
              AND v.spec ->> 'model' = \(model) AND v.spec ? 'data' AND v.spec -> 'data' <> 'null'::jsonb
            ORDER BY v.applied_at DESC LIMIT 1
            """, logger: logger)
        return try await firstVersion(rows)
    }

    /// The first of `rows` (workflow, version, content_hash, source, spec, applied_at, applied_by) as a version.
    private static func firstVersion(_ rows: PostgresRowSequence) async throws -> WorkflowVersion? {
        for try await (workflow, number, hash, source, spec, appliedAt, appliedBy) in rows.decode((String, Int, String, String, String, Date, String).self) {
            let decoded = try JSONDecoder().decode(WorkflowSpec.self, from: Data(spec.utf8))
            return WorkflowVersion(workflow: workflow, version: number, contentHash: hash, source: source, spec: decoded, appliedAt: appliedAt, appliedBy: appliedBy)
        }
        return nil
    }

    /// Each model's retention in seconds, from its monitoring workflow's `data.retention`
    /// (the latest version of each workflow not deleted; the shortest when several say).
    public func retentionByModel() async throws -> [String: TimeInterval] {
        var retention: [String: TimeInterval] = [:]
        for summary in try await list() {
            let spec = try await version(of: summary.name).spec
            guard let model = spec.model, let kept = spec.data?.retention?.seconds else { continue }
            retention[model] = min(retention[model] ?? kept, kept)
        }
        return retention
    }
}
