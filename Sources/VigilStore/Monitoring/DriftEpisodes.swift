import Foundation
import PostgresNIO

/// A period when a model's data, or the meaning of its labels, is known to have changed.
public struct DriftEpisode: Sendable, Equatable {
    /// What changed: `data`, `concept`, `gradual` (a concept moving over time) or `serving`.
    public enum Kind: String, Sendable, CaseIterable {
        case data, concept, gradual, serving
    }

    public var id: Int
    public var model: String
    public var kind: Kind
    public var startedAt: Date
    public var endedAt: Date?
    public var source: String
    public var note: String?

    public init(id: Int = 0, model: String, kind: Kind, startedAt: Date, endedAt: Date? = nil, source: String, note: String? = nil) {
        self.id = id
        self.model = model
        self.kind = kind
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.source = source
        self.note = note
    }

    /// What is wrong with the episode as a person records it, or `nil`: an end before the onset,
    /// a note (the cause) over 2,000 characters or holding NUL. An onset ahead of now is a change
    /// known in advance (a campaign, a migration), and fine.
    public var problem: String? {
        if let endedAt, endedAt <= startedAt { return "the end must come after the onset" }
        if let note, note.unicodeScalars.count > 2_000 || note.contains("\u{0}") { return "the cause must be at most 2000 characters, without NUL" }
        return nil
    }

    /// Whether the episode was recorded by a person (not by `vigil simulate` or `vigil demo`,
    /// whose sources start `simulator:`).
    public var isRecordedByPerson: Bool { !source.hasPrefix("simulator:") }

    /// Whether `date` falls in the episode (an open one lasts).
    public func covers(_ date: Date) -> Bool {
        date >= startedAt && endedAt.map { date < $0 } ?? true
    }
}

/// The known drift episodes (`drift_episodes`): the ground truth reports measure detection against.
public struct DriftEpisodes: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Records an episode (once: the same model, kind, start and source keep one row) and audits it.
    @discardableResult
    public func record(_ episode: DriftEpisode, actor: String, now: Date) async throws -> Int {
        try await database.transaction { connection in
            let inserted = try await connection.query("""
                INSERT INTO drift_episodes (model, kind, started_at, ended_at, source, note)
                VALUES (\(episode.model), \(episode.kind.rawValue), \(episode.startedAt), \(episode.endedAt), \(episode.source), \(episode.note))
                ON CONFLICT (model, kind, started_at, source) DO NOTHING RETURNING id
                """, logger: database.logger)
            if let id = try await inserted.collect().first?.decode(Int.self) {
                try await AuditLog.append(
                    actor: actor, action: "drift_episode_recorded", subject: "model:\(episode.model)", reason: episode.note,
                    details: ["episode": .number(Double(id)), "kind": .string(episode.kind.rawValue), "source": .string(episode.source)],
                    at: now, on: connection, logger: database.logger
                )
                return id
            }
            let existing = try await connection.query("""
                SELECT id FROM drift_episodes
                WHERE model = \(episode.model) AND kind = \(episode.kind.rawValue) AND started_at = \(episode.startedAt) AND source = \(episode.source)
                """, logger: database.logger)
            return try await existing.collect().first!.decode(Int.self)
        }
    }

    /// The episodes of `model` overlapping `[from, to)`, oldest first.
    public func list(model: String, from: Date = .distantPast, to: Date = .distantFuture) async throws -> [DriftEpisode] {
        let rows = try await database.client.query("""
            SELECT id, model, kind, started_at, ended_at, source, note FROM drift_episodes
            WHERE model = \(model) AND started_at < \(to) AND (ended_at IS NULL OR ended_at > \(from))
            ORDER BY started_at, id
            """, logger: database.logger)
        var episodes: [DriftEpisode] = []
        for try await (id, model, kind, start, end, source, note) in rows.decode((Int, String, String, Date, Date?, String, String?).self) {
            episodes.append(DriftEpisode(id: id, model: model, kind: DriftEpisode.Kind(rawValue: kind) ?? .data, startedAt: start, endedAt: end, source: source, note: note))
        }
        return episodes
    }
}
