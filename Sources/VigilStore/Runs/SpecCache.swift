import Foundation
import PostgresNIO
import Synchronization
import VigilWorkflow

/// Workflow versions never change once stored, so each process reads a version's spec once.
final class SpecCache: Sendable {
    private let specs = Mutex<[String: WorkflowSpec]>([:])

    func cached(_ workflow: String, version: Int) -> WorkflowSpec? {
        specs.withLock { $0["\(workflow)@\(version)"] }
    }

    func spec(_ workflow: String, version: Int, on connection: PostgresConnection, logger: Logger) async throws -> WorkflowSpec {
        let key = "\(workflow)@\(version)"
        if let spec = specs.withLock({ $0[key] }) { return spec }
        let rows = try await connection.query(
            "SELECT spec::text FROM workflow_versions WHERE workflow = \(workflow) AND version = \(version)", logger: logger
        )
        for try await text in rows.decode(String.self) {
            let spec = try JSONDecoder().decode(WorkflowSpec.self, from: Data(text.utf8))
            specs.withLock { $0[key] = spec }
            return spec
        }
        throw StoreError(.notFound, "workflow '\(workflow)' has no version \(version)")
    }
}
