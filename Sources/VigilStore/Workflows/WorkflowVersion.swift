import Foundation
import VigilWorkflow

/// One stored version of a workflow: the exact file text it was applied from, and its spec.
public struct WorkflowVersion: Sendable {
    public let workflow: String
    public let version: Int
    /// Hex SHA-256 of `source`: the identity of the content.
    public let contentHash: String
    public let source: String
    public let spec: WorkflowSpec
    public let appliedAt: Date
    public let appliedBy: String
}

/// What `apply` did with one workflow file.
public struct AppliedWorkflow: Sendable, Equatable {
    public let workflow: String
    public let version: Int
    /// `false` when the same content was already stored (nothing written).
    public let isNew: Bool

    public init(workflow: String, version: Int, isNew: Bool) {
        self.workflow = workflow
        self.version = version
        self.isNew = isNew
    }
}

/// A workflow and its latest version, for listings.
public struct WorkflowSummary: Sendable {
    public let name: String
    public let latestVersion: Int
    public let versionCount: Int
    public let appliedAt: Date
    public let appliedBy: String
    public let stepCount: Int
    public let state: WorkflowState
}
