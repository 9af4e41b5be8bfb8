import ArgumentParser
import Foundation
import VigilEngine
import VigilStore
import VigilWorkflow

/// `vigil incidents`: what people know happened to a model (a drift onset and its cause), the
/// ground truth `vigil report` measures lead time, precision and recall against.
struct IncidentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incidents",
        abstract: "Record a known drift onset and its cause, or list a model's recorded ones; `vigil report` measures detection against them.",
        subcommands: [Record.self, List.self]
    )

    struct Record: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record when a model's data or labels are known to have changed, and why (audited; recording the same onset again changes nothing)."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The model.") var model: String
        @Option(help: "When the change began (RFC 3339, such as 2026-11-24T06:00:00Z).") var onset: String
        @Option(help: "When it ended, if it has (RFC 3339).") var ended: String?
        @Option(help: "What changed: \(DriftEpisode.Kind.allCases.map(\.rawValue).joined(separator: ", ")).") var kind = "data"
        @Option(help: "The cause, as people know it (recorded).") var cause: String

        func run() async throws {
            guard let kind = DriftEpisode.Kind(rawValue: kind) else {
                throw ValidationError("--kind must be one of \(DriftEpisode.Kind.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(kind)')")
            }
            let started = try TimeOption.date(onset, option: "--onset")
            let episode = DriftEpisode(model: model, kind: kind, startedAt: started, endedAt: try ended.map { try TimeOption.date($0, option: "--ended") },
                                       source: global.actor, note: cause)
            if let problem = episode.problem { throw ValidationError(problem) }
            let id = try await global.withDatabase(logger: global.makeLogger()) { database in
                _ = try await ReportCommand.model(model, in: database)
                return try await DriftEpisodes(database: database).record(episode, actor: global.actor, now: Date())
            }
            print("recorded incident \(id): \(kind.rawValue) drift of \(model) from \(onset)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a model's known drift onsets, oldest first: recorded by people and by the simulator.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The model (default: the only one registered).") var model: String?
        @Option(help: "table or json.") var format: ReportFormat = .table

        func run() async throws {
            let episodes = try await global.withDatabase(logger: global.makeLogger()) { database in
                try await DriftEpisodes(database: database).list(model: try await ReportCommand.model(model, in: database))
            }
            let formatter = ISO8601DateFormatter()
            if format == .json {
                print(try JSONOutput.encode(episodes.map(IncidentJSON.init)))
                return
            }
            var table = TextTable(["id", "kind", "onset", "ended", "recorded_by", "cause"])
            for episode in episodes {
                table.append([String(episode.id), episode.kind.rawValue, formatter.string(from: episode.startedAt),
                              episode.endedAt.map { formatter.string(from: $0) } ?? "", episode.source, episode.note ?? ""])
            }
            print(table.rendered, terminator: "")
        }
    }
}

/// A recorded incident as `vigil incidents list --format json` prints it.
struct IncidentJSON: Encodable {
    let id: Int
    let model: String
    let kind: String
    let onset: Date
    let ended: Date?
    let recordedBy: String
    let cause: String?

    enum CodingKeys: String, CodingKey {
        case id, model, kind, onset, ended, recordedBy = "recorded_by", cause
    }

    init(_ episode: DriftEpisode) {
        id = episode.id
        model = episode.model
        kind = episode.kind.rawValue
        onset = episode.startedAt
        ended = episode.endedAt
        recordedBy = episode.source
        cause = episode.note
    }
}
