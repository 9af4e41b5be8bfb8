import Foundation
import Hummingbird
import VigilStore
import VigilWorkflow

/// Known incidents: drift onsets and their causes as people record them, the ground truth
/// `vigil report` measures detection against.
extension APIRoutes {
    static func json(_ episode: DriftEpisode) -> JSONValue {
        let formatter = ISO8601DateFormatter()
        return .object([
            "id": .number(Double(episode.id)), "model": .string(episode.model), "kind": .string(episode.kind.rawValue),
            "onset": .string(formatter.string(from: episode.startedAt)), "ended": episode.endedAt.map { .string(formatter.string(from: $0)) } ?? .null,
            "recorded_by": .string(episode.source), "cause": episode.note.map(JSONValue.string) ?? .null,
        ])
    }

    mutating func addIncidentRoutes() {
        add(.get, "/api/v1/models/{model}/incidents", .viewer) { request in
            let model = try request.modelPath()
            try await request.checkModelVisible(model)
            _ = try await ModelRegistry(database: request.database).routing(of: model)
            let episodes = try await DriftEpisodes(database: request.database).list(model: model)
            return JSONResponse.ok(JSONValue.object(["incidents": .array(episodes.map(Self.json))]))
        }
        add(.post, "/api/v1/models/{model}/incidents", .operator) { request in
            let model = try request.modelPath()
            let body = try await request.object(allowing: ["onset", "duration", "kind", "cause"])
            func time(_ key: String) throws -> Date? {
                guard let value = body[key] else { return nil }
                guard case let .string(text) = value, let seconds = Timestamp.parse(text) else {
                    throw APIError.unprocessable("'\(key)' must be an RFC 3339 time such as 2026-11-24T06:00:00Z")
                }
                return Date(timeIntervalSince1970: seconds)
            }
            guard let onset = try time("onset") else { throw APIError.unprocessable("'onset' is required: when the change began") }
            guard case let .string(cause)? = body["cause"], !cause.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw APIError.unprocessable("'cause' is required: a non-empty string saying what changed (it is recorded)")
            }
            let kindName = try request.text("kind", in: body) ?? DriftEpisode.Kind.data.rawValue
            guard let kind = DriftEpisode.Kind(rawValue: kindName) else {
                throw APIError.unprocessable("'kind' must be one of \(DriftEpisode.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var ended: Date?
            if let value = body["duration"] {
                guard case let .string(text) = value, let duration = WorkflowDuration(text), duration.seconds > 0 else {
                    throw APIError.unprocessable("'duration' must be how long the change lasted, such as 3d")
                }
                ended = onset.addingTimeInterval(duration.seconds)
            }
            let episode = DriftEpisode(model: model, kind: kind, startedAt: onset, endedAt: ended, source: request.principal.name, note: cause)
            if let problem = episode.problem { throw APIError.unprocessable(problem) }
            try await request.checkModelVisible(model)
            _ = try await ModelRegistry(database: request.database).routing(of: model)
            let store = DriftEpisodes(database: request.database)
            let id = try await store.record(episode, actor: request.principal.name, now: request.now)
            let recorded = try await store.list(model: model).first { $0.id == id } ?? episode
            return JSONResponse.ok(Self.json(recorded), status: .created)
        }
    }
}
