import Foundation
import PostgresNIO
import VigilWorkflow

/// One thing that happened to a model, for people: a drift onset, an alert, a run that answered it,
/// a version registered, judged in shadow, put on canary, promoted or rolled back, a change an
/// online detector found.
public struct TimelineEvent: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case driftOnset = "drift_onset", driftEnded = "drift_ended"
        case alertRaised = "alert_raised", alertEscalated = "alert_escalated", alertResolved = "alert_resolved"
        case alertFalsePositive = "alert_false_positive"
        case runStarted = "run_started", runFinished = "run_finished"
        case registered, shadowResult = "shadow_result", canary, promoted
        case rolledBack = "rolled_back"
        /// An online detector (an `evaluate` rule) found a change in its stream.
        case detection
    }

    public var at: Date
    public var kind: Kind
    public var summary: String
    /// What it is about: `alert:3`, `run:12`, `model:churn@2`, `episode:1`.
    public var subject: String

    public init(at: Date, kind: Kind, summary: String, subject: String) {
        self.at = at
        self.kind = kind
        self.summary = summary
        self.subject = subject
    }
}

/// A model's history as a timeline, read from the records: known drift episodes, alert history,
/// the runs alerts and people started for the model's workflows (scheduled monitoring runs are
/// left out: one per window would drown the rest), and the model changelog.
public struct ModelTimeline: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// The events of `model` in `[from, to]`, in time order (ties in the order they were written).
    public func events(model: String, from: Date = .distantPast, to: Date = .distantFuture) async throws -> [TimelineEvent] {
        var events: [(TimelineEvent, Int)] = []
        for episode in try await DriftEpisodes(database: database).list(model: model, from: from, to: to) {
            if episode.startedAt >= from && episode.startedAt <= to {
                events.append((TimelineEvent(at: episode.startedAt, kind: .driftOnset, summary: "\(episode.kind.rawValue) drift begins (known to \(episode.source))",
                                             subject: "episode:\(episode.id)"), 0))
            }
            if let end = episode.endedAt, end >= from && end <= to {
                events.append((TimelineEvent(at: end, kind: .driftEnded, summary: "\(episode.kind.rawValue) drift ends", subject: "episode:\(episode.id)"), 0))
            }
        }
        events += try await alertEvents(model: model, from: from, to: to)
        events += try await runEvents(model: model, from: from, to: to)
        events += try await changelogEvents(model: model, from: from, to: to)
        events += try await detectionEvents(model: model, from: from, to: to)
        return events.enumerated().sorted { ($0.element.0.at, $0.element.1, $0.offset) < ($1.element.0.at, $1.element.1, $1.offset) }.map(\.element.0)
    }

    /// The changes online detectors found, when the pass that found them ran.
    private func detectionEvents(model: String, from: Date, to: Date) async throws -> [(TimelineEvent, Int)] {
        let rows = try await database.client.query("""
            SELECT detected_at, model_version, detector, position, ts FROM detector_detections
            WHERE model = \(model) AND detected_at BETWEEN \(from) AND \(to) ORDER BY id
            """, logger: database.logger)
        var events: [(TimelineEvent, Int)] = []
        for try await (at, version, detector, position, ts) in rows.decode((Date, String, String, Int, Date).self) {
            // `workflow/step/severity/method:stream`: say the method and the stream.
            let rule = detector.split(separator: "/").last.map(String.init) ?? detector
            let served = version.isEmpty ? "" : " of v\(version)"
            events.append((TimelineEvent(
                at: at, kind: .detection, summary: "\(rule): change at value \(position)\(served) (predicted \(ISO8601DateFormatter().string(from: ts)))",
                subject: "detector:\(detector)"
            ), 1))
        }
        return events
    }

    /// Order within one instant: onset, alerts, runs, model changes (`rank`).
    private func alertEvents(model: String, from: Date, to: Date) async throws -> [(TimelineEvent, Int)] {
        let rows = try await database.client.query("""
            SELECT e.at, e.action, a.id, a.rule, e.reason, e.details ->> 'severity', a.severity FROM alert_events e JOIN alerts a ON a.id = e.alert_id
            WHERE a.model = \(model) AND e.at BETWEEN \(from) AND \(to) AND e.action IN ('raised', 'escalated', 'resolved', 'false_positive')
            ORDER BY e.id
            """, logger: database.logger)
        var events: [(TimelineEvent, Int)] = []
        for try await (at, action, id, rule, reason, raisedAs, severity) in rows.decode((Date, String, Int, String, String?, String?, String).self) {
            let event: TimelineEvent = switch action {
            case "raised": TimelineEvent(at: at, kind: .alertRaised, summary: "\(raisedAs ?? severity) alert #\(id) \(rule) raised" + Self.because(reason), subject: "alert:\(id)")
            case "escalated": TimelineEvent(at: at, kind: .alertEscalated, summary: "alert #\(id) \(rule) escalated to hard" + Self.because(reason), subject: "alert:\(id)")
            case "false_positive": TimelineEvent(at: at, kind: .alertFalsePositive, summary: "alert #\(id) \(rule) marked a false positive" + Self.because(reason), subject: "alert:\(id)")
            default: TimelineEvent(at: at, kind: .alertResolved, summary: "alert #\(id) \(rule) resolved" + Self.because(reason), subject: "alert:\(id)")
            }
            events.append((event, 1))
        }
        return events
    }

    private func runEvents(model: String, from: Date, to: Date) async throws -> [(TimelineEvent, Int)] {
        let rows = try await database.client.query("""
            SELECT r.id, r.workflow, r.state, r.trigger ->> 'kind', r.trigger ->> 'name', r.created_at, r.finished_at, r.error
            FROM runs r JOIN workflow_versions v ON v.workflow = r.workflow AND v.version = r.workflow_version
            WHERE v.spec ->> 'model' = \(model) AND r.scheduled_for IS NULL
              AND (r.created_at BETWEEN \(from) AND \(to) OR r.finished_at BETWEEN \(from) AND \(to))
            ORDER BY r.id
            """, logger: database.logger)
        var events: [(TimelineEvent, Int)] = []
        for try await (id, workflow, state, kind, name, created, finished, error) in rows.decode((Int, String, String, String?, String?, Date, Date?, String?).self) {
            if created >= from && created <= to {
                let cause = kind == "alert" ? " by alert \(name ?? "")" : kind.map { " (\($0))" } ?? ""
                events.append((TimelineEvent(at: created, kind: .runStarted, summary: "run #\(id) of \(workflow) started\(cause)", subject: "run:\(id)"), 2))
            }
            if let finished, finished >= from && finished <= to {
                events.append((TimelineEvent(at: finished, kind: .runFinished, summary: "run #\(id) of \(workflow) \(state)" + Self.because(error), subject: "run:\(id)"), 4))
            }
        }
        return events
    }

    private func changelogEvents(model: String, from: Date, to: Date) async throws -> [(TimelineEvent, Int)] {
        let rows = try await database.client.query("""
            SELECT at, action, version, alias, reason, details::text FROM model_changelog
            WHERE model = \(model) AND at BETWEEN \(from) AND \(to) AND action IN ('registered', 'shadow_result', 'canary', 'promoted', 'rolled_back')
            ORDER BY id
            """, logger: database.logger)
        var events: [(TimelineEvent, Int)] = []
        for try await (at, action, version, alias, reason, detailsText) in rows.decode((Date, String, Int?, String?, String?, String).self) {
            let details = (try? JSONDecoder().decode([String: JSONValue].self, from: Data(detailsText.utf8))) ?? [:]
            let name = "\(model)@\(version.map(String.init) ?? "?")"
            let event: TimelineEvent = switch action {
            case "registered": TimelineEvent(at: at, kind: .registered, summary: "\(name) registered" + (alias.map { " as \($0)" } ?? ""), subject: "model:\(name)")
            case "shadow_result": TimelineEvent(at: at, kind: .shadowResult, summary: "\(name) judged in shadow" + Self.because(reason), subject: "model:\(name)")
            case "canary": TimelineEvent(at: at, kind: .canary, summary: "\(name) on canary at \(Self.percent(details["weight"]?.numberValue))", subject: "model:\(name)")
            case "promoted": TimelineEvent(at: at, kind: .promoted, summary: "\(name) promoted to \(alias ?? "champion")", subject: "model:\(name)")
            default: TimelineEvent(at: at, kind: .rolledBack, summary: "\(name) rolled back" + Self.because(reason), subject: "model:\(name)")
            }
            events.append((event, 3))
        }
        return events
    }

    static func because(_ reason: String?) -> String {
        guard let reason, !reason.isEmpty else { return "" }
        let line = reason.split(separator: "\n").first.map(String.init) ?? reason
        return ": " + (line.count > 140 ? String(line.prefix(139)) + "…" : line)
    }

    static func percent(_ weight: Double?) -> String {
        guard let weight else { return "?" }
        return String(format: "%g%%", (weight * 100).rounded())
    }
}
