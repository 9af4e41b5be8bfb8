import ArgumentParser
import Foundation
import VigilEngine
import VigilStore
import VigilWorkflow

/// `vigil simulate`: a churn model's traffic, seeded and deterministic, served as the routing says.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Log simulated churn traffic: requests routed to the champion or canary, shadow answers, delayed labels.",
        discussion: """
            Scenarios: \(ChurnTraffic.Scenario.allCases.map(\.rawValue).joined(separator: ", ")) (see ChurnTraffic). The period ends now
            (or at --end) and lasts --hours; the scenario starts --onset after its beginning. With no champion yet, --bootstrap trains one
            on the first hours of the period, before the onset.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The model.") var model = "churn"
    @Option(help: "The scenario.") var scenario: String = "concept"
    @Option(help: "Hours of traffic.") var hours = 48
    @Option(help: "Requests per hour.") var rate = 300
    @Option(help: "When the scenario starts, after the period's beginning (a duration).") var onset = "24h"
    @Option(help: "How long ground truth takes to arrive (a duration).") var labelDelay = "2h"
    @Option(help: "The seed.") var seed: UInt64 = 7
    @Option(help: "The period's end (RFC 3339); default now, to the hour.") var end: String?
    @Flag(help: "Train and register a champion on the period's first hours when the model has none.") var bootstrap = false

    func run() async throws {
        guard let kind = ChurnTraffic.Scenario(rawValue: scenario) else {
            throw ValidationError("--scenario must be one of \(ChurnTraffic.Scenario.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let onset = WorkflowDuration(onset), let delay = WorkflowDuration(labelDelay) else {
            throw ValidationError("--onset and --label-delay must be durations such as 24h")
        }
        guard (1...8_784).contains(hours), (1...100_000).contains(rate) else { throw ValidationError("--hours must be from 1 to 8784 (a year) and --rate from 1 to 100000") }
        let finish = try end.map { try TimeOption.date($0, option: "--end") } ?? Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 3_600).rounded(.down) * 3_600)
        let start = finish.addingTimeInterval(-Double(hours) * 3_600)
        var configuration = TrafficSimulator.Configuration(start: start)
        configuration.model = model
        configuration.requestsPerHour = rate
        configuration.labelDelay = delay.seconds
        let traffic = ChurnTraffic(scenario: kind, onset: start.addingTimeInterval(onset.seconds), seed: seed)
        try await global.withDatabase(logger: global.makeLogger()) { database in
            let simulator = TrafficSimulator(traffic: traffic, configuration: configuration, database: database)
            let registry = ModelRegistry(database: database)
            let routing = try? await registry.routing(of: model)
            if routing?.championVersion == nil {
                guard bootstrap else { throw CommandFailure("model \(model) has no champion to serve; pass --bootstrap to train one, or `vigil models register`") }
                let trainingEnd = min(traffic.onset, start.addingTimeInterval(min(onset.seconds, 12 * 3_600)))
                let version = try await simulator.bootstrapChampion(trainingFrom: start, to: trainingEnd, actor: global.actor, now: Date())
                print("registered \(model) version \(version.version) as champion (trained on \(version.trainingRows ?? 0) simulated requests)")
            }
            if let episode = traffic.episode(model: model) {
                try await DriftEpisodes(database: database).record(episode, actor: global.actor, now: Date())
            }
            var total = TrafficSimulator.Served()
            var hour = start
            while hour < finish {
                let next = min(finish, hour.addingTimeInterval(3_600))
                let served = try await simulator.serve(from: hour, to: next)
                total.champion += served.champion
                total.canary += served.canary
                total.shadow += served.shadow
                total.labels += served.labels
                hour = next
            }
            print("simulated \(hours)h of \(kind.rawValue) traffic for \(model): \(total.champion) champion, \(total.canary) canary, \(total.shadow) shadow requests, \(total.labels) labels")
        }
    }
}
