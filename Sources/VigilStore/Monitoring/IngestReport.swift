import Foundation

/// What one ingest did: rows read, loaded and quarantined, with the first quarantined rows.
public struct IngestReport: Sendable, Codable, Equatable {
    public let batchID: Int
    public let model: String
    public let rowsRead: Int
    /// Rows inserted: new requests (for labels, new or corrected ones).
    public let rowsLoaded: Int
    /// Rows whose request was already stored (for labels, with the same value): nothing was
    /// written for them, so loading a file twice changes nothing.
    public let alreadyPresent: Int
    public let quarantined: Int
    /// Labels written (new or corrected), when the file carried a label column.
    public let labels: Int
    /// What the labels did: new, unchanged, corrected, waiting for their inference, expired.
    public let labelOutcome: LabelOutcome
    /// Columns the file has that the workflow does not declare (stored, but not checked).
    public let undeclaredColumns: [String]
    /// Up to the first 20 quarantined rows.
    public let quarantineSample: [QuarantinedRow]
    public let seconds: Double

    public var rowsPerSecond: Double { seconds > 0 ? Double(rowsRead) / seconds : 0 }
}

/// A row set aside at ingest, with why.
public struct QuarantinedRow: Sendable, Codable, Equatable {
    /// The row's line in the file.
    public let line: Int
    public let column: String?
    public let reason: String
}

/// Progress of a running ingest, for a terminal's progress line.
public struct IngestProgress: Sendable {
    public let rowsRead: Int
    public let quarantined: Int
    public let seconds: Double
    public let bytesRead: Int
    public let bytesTotal: Int

    public var rowsPerSecond: Double { seconds > 0 ? Double(rowsRead) / seconds : 0 }
}
