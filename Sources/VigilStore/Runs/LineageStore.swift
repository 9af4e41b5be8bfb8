import Foundation
import PostgresNIO
import VigilWorkflow

/// A node of the lineage graph: a kind (`data_window`, `alert`, `run`, `model_version`,
/// `artifact`, …) and the id of one of them.
public struct LineageNode: Sendable, Hashable, Codable, CustomStringConvertible {
    public let kind: String
    public let id: String

    public init(kind: String, id: String) {
        self.kind = kind
        self.id = id
    }

    public var description: String { "\(kind):\(id)" }
}

/// An edge: `from` led to `to`.
public struct LineageEdge: Sendable, Hashable {
    public let from: LineageNode
    public let to: LineageNode
    public let relation: String
    public let runID: Int?
    public let step: String?
    public let createdAt: Date
}

/// An artifact a step produced.
public struct Artifact: Sendable {
    public let id: Int
    public let runID: Int
    public let step: String
    public let name: String
    public let kind: String
    public let uri: String
    public let checksum: String?
}

/// Artifacts and lineage edges in PostgreSQL. Edges are append-only and recorded once.
public struct LineageStore: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Records an artifact of a step attempt (replacing one of the same name from an earlier attempt's record).
    @discardableResult
    public func recordArtifact(
        runID: Int, step: String, attempt: Int, name: String, kind: String, uri: String, checksum: String?,
        metadata: [String: JSONValue], now: Date
    ) async throws -> Int {
        let rows = try await database.client.query("""
            INSERT INTO artifacts (run_id, step, attempt, name, kind, uri, checksum, metadata, created_at)
            VALUES (\(runID), \(step), \(attempt), \(name), \(kind), \(uri), \(checksum), \(try JSONText.encode(metadata))::jsonb, \(now))
            ON CONFLICT (run_id, step, name) DO UPDATE SET attempt = EXCLUDED.attempt, kind = EXCLUDED.kind, uri = EXCLUDED.uri,
                checksum = EXCLUDED.checksum, metadata = EXCLUDED.metadata, created_at = EXCLUDED.created_at
            RETURNING id
            """, logger: database.logger)
        for try await id in rows.decode(Int.self) { return id }
        throw StoreError(.query, "the artifact was not stored")
    }

    /// Records that `from` led to `to`; recording the same edge again is a no-op.
    public func recordEdge(from: LineageNode, to: LineageNode, relation: String, runID: Int?, step: String?, now: Date) async throws {
        try await database.client.query("""
            INSERT INTO lineage_edges (from_kind, from_id, to_kind, to_id, relation, run_id, step, created_at)
            VALUES (\(from.kind), \(from.id), \(to.kind), \(to.id), \(relation), \(runID), \(step), \(now))
            ON CONFLICT (from_kind, from_id, to_kind, to_id, relation) DO NOTHING
            """, logger: database.logger)
    }

    /// Every edge reachable from `node`, upstream (what led to it) and downstream (what it led to).
    public func graph(around node: LineageNode) async throws -> (upstream: [LineageEdge], downstream: [LineageEdge]) {
        func walk(upstream: Bool) async throws -> [LineageEdge] {
            let rows = try await database.client.query(upstream ? """
                WITH RECURSIVE up AS (
                    SELECT * FROM lineage_edges WHERE to_kind = \(node.kind) AND to_id = \(node.id)
                    UNION SELECT e.* FROM lineage_edges e JOIN up ON e.to_kind = up.from_kind AND e.to_id = up.from_id
                ) SELECT from_kind, from_id, to_kind, to_id, relation, run_id, step, created_at FROM up ORDER BY created_at, id
                """ : """
                WITH RECURSIVE down AS (
                    SELECT * FROM lineage_edges WHERE from_kind = \(node.kind) AND from_id = \(node.id)
                    UNION SELECT e.* FROM lineage_edges e JOIN down ON e.from_kind = down.to_kind AND e.from_id = down.to_id
                ) SELECT from_kind, from_id, to_kind, to_id, relation, run_id, step, created_at FROM down ORDER BY created_at, id
                """, logger: database.logger)
            var edges: [LineageEdge] = []
            for try await (fromKind, fromID, toKind, toID, relation, runID, step, at)
                in rows.decode((String, String, String, String, String, Int?, String?, Date).self) {
                edges.append(LineageEdge(from: LineageNode(kind: fromKind, id: fromID), to: LineageNode(kind: toKind, id: toID),
                                         relation: relation, runID: runID, step: step, createdAt: at))
            }
            return edges
        }
        return (try await walk(upstream: true), try await walk(upstream: false))
    }

    /// The artifacts of a run.
    public func artifacts(ofRun runID: Int) async throws -> [Artifact] {
        let rows = try await database.client.query(
            "SELECT id, run_id, step, name, kind, uri, checksum FROM artifacts WHERE run_id = \(runID) ORDER BY id", logger: database.logger
        )
        var artifacts: [Artifact] = []
        for try await (id, run, step, name, kind, uri, checksum) in rows.decode((Int, Int, String, String, String, String, String?).self) {
            artifacts.append(Artifact(id: id, runID: run, step: step, name: name, kind: kind, uri: uri, checksum: checksum))
        }
        return artifacts
    }
}
