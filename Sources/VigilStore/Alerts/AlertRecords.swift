import Foundation
import VigilWorkflow

/// How loud an alert is: soft findings notify, hard findings page and start workflows.
public enum AlertSeverity: String, Sendable, Codable, CaseIterable, Comparable {
    case soft, hard

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs == .soft && rhs == .hard }
}

/// Where an alert is in its life.
public enum AlertState: String, Sendable, Codable, CaseIterable {
    /// Open, and channels hear of it.
    case firing
    /// Open; a person has taken it on, so it is not paged again.
    case acknowledged
    /// Closed: cleared on its own, resolved by a person, or by the run it started.
    case resolved
    /// Open, but a silence is in force: recorded, notifying no one.
    case silenced

    public var isOpen: Bool { self != .resolved }
}

/// An alert as stored.
public struct Alert: Sendable {
    public let id: Int
    /// Identifies the incident's kind: the same model, rule and subject give the same fingerprint.
    public let fingerprint: String
    public let model: String
    public let rule: String
    public let subject: String
    /// `vigil`, or `alertmanager` for alerts received from one.
    public let source: String
    public let severity: AlertSeverity
    public let state: AlertState
    public let labels: [String: String]
    public let findings: [String: JSONValue]
    public let startedAt: Date
    public let firstSeen: Date
    public let lastSeen: Date
    public let occurrences: Int
    public let escalatedAt: Date?
    public let clearWindows: Int
    /// The last window counted as clear, so the same window is not counted twice.
    public let lastClearWindow: String?
    public let resolveAfter: Int
    public let channels: [String]
    public let renotifyAt: Date?
    public let acknowledgedAt: Date?
    public let acknowledgedBy: String?
    public let resolvedAt: Date?
    public let resolvedBy: String?
    public let resolution: String?
    public let falsePositive: Bool
    public let statusReason: String?

    /// The key that starts one run per incident: the fingerprint and when the incident began.
    public var incidentKey: String {
        "\(fingerprint)@\(Int(startedAt.timeIntervalSince1970))"
    }
}

/// One thing that happened to an alert, with who did it and why.
public struct AlertEvent: Sendable {
    public let id: Int
    public let alertID: Int
    public let at: Date
    public let actor: String
    public let action: String
    public let reason: String?
    public let details: [String: JSONValue]
}

/// Why a notification is sent.
public enum NotificationKind: String, Sendable, Codable, CaseIterable {
    /// The alert opened (or a silence on it ended).
    case trigger
    /// A soft alert became hard.
    case escalate
    /// A hard alert stayed unacknowledged past its deadline.
    case renotify
    /// A person acknowledged it.
    case acknowledge
    /// It closed.
    case resolve
}

/// Whether a notification reached its channel.
public enum NotificationState: String, Sendable, Codable, CaseIterable {
    /// Not delivered yet: waiting for its first round, or for the next after a failed one.
    case pending
    case delivered
    /// Given up (refused by the receiver, or too old): kept until a person retries it.
    case dead
    /// The channel has no use for this kind (Alertmanager has no acknowledgement).
    case skipped
}

/// Which notifications a listing shows: those in one state, or `failed` ones: pending after a
/// round that failed, waiting for the next (the outbox keeps trying them until they are delivered
/// or too old).
public enum NotificationSelection: String, Sendable, CaseIterable {
    case pending
    case failed
    case delivered
    case dead
    case skipped
}

/// One notification of one alert to one channel (a row of the outbox).
public struct AlertNotification: Sendable {
    public let id: Int
    public let alertID: Int
    public let channel: String
    public let kind: NotificationKind
    /// Unique per notification: receivers that deduplicate get it, and it is never sent twice.
    public let dedupKey: String
    public let state: NotificationState
    public let attempts: Int
    public let lastStatus: Int?
    public let lastError: String?
    public let createdAt: Date
    public let deliveredAt: Date?
    /// When a pending notification is tried again, after a failed round.
    public let nextAttemptAt: Date?
    public let lastAttemptAt: Date?
    public let deadAt: Date?
}

/// A finding to raise or update an alert with.
public struct AlertFinding: Sendable {
    public var model: String
    public var rule: String
    public var subject: String
    public var severity: AlertSeverity
    public var labels: [String: String]
    /// Reasons, drifted features with scores, the window: shown in notifications and `vigil alerts show`.
    public var details: [String: JSONValue]
    /// The channels that hear of the alert at this severity.
    public var channels: [String]
    /// Page again when a hard alert stays unacknowledged this long.
    public var renotifyAfter: TimeInterval?
    /// No new notification for the same fingerprint within this long of the last one.
    public var quietPeriod: TimeInterval?
    /// The alert resolves itself after this many consecutive clear windows.
    public var resolveAfter: Int
    public var source: String
    /// When the incident began, if the source knows (Alertmanager's `startsAt`).
    public var startedAt: Date?
    /// The source's own fingerprint, when it has one; otherwise derived from model, rule and subject.
    public var sourceFingerprint: String?

    public init(
        model: String, rule: String, subject: String = "model", severity: AlertSeverity, labels: [String: String] = [:],
        details: [String: JSONValue] = [:], channels: [String] = [], renotifyAfter: TimeInterval? = nil, quietPeriod: TimeInterval? = nil,
        resolveAfter: Int = 3, source: String = "vigil", startedAt: Date? = nil, sourceFingerprint: String? = nil
    ) {
        self.model = model
        self.rule = rule
        self.subject = subject
        self.severity = severity
        self.labels = labels
        self.details = details
        self.channels = channels
        self.renotifyAfter = renotifyAfter
        self.quietPeriod = quietPeriod
        self.resolveAfter = resolveAfter
        self.source = source
        self.startedAt = startedAt
        self.sourceFingerprint = sourceFingerprint
    }

    /// 16 hex digits of SHA-256 over model, rule and subject (the length Alertmanager uses).
    public var fingerprint: String {
        sourceFingerprint ?? String([model, rule, subject].joined(separator: "\u{1F}").sha256Hex.prefix(16))
    }
}

/// What raising a finding did.
public struct AlertRaise: Sendable {
    public let alert: Alert
    /// The finding opened a new alert.
    public let opened: Bool
    /// The finding raised a soft alert to hard.
    public let escalated: Bool
    /// The channels notifications were queued for.
    public let queued: [String]
    /// The same step attempt reported this finding before: nothing changed.
    public let replayed: Bool
}
