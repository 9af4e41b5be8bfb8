import Foundation
import Testing
import VigilEngine
import VigilStatistics
import VigilStore
import VigilTesting
import VigilWorkflow

@Suite("The churn traffic simulator")
struct SimulationTests {
    static let start = Date(timeIntervalSince1970: 1_764_000_000)

    static func simulator(_ scenario: ChurnTraffic.Scenario, database: Database, rate: Int = 300) -> TrafficSimulator {
        var configuration = TrafficSimulator.Configuration(start: start)
        configuration.requestsPerHour = rate
        return TrafficSimulator(traffic: ChurnTraffic(scenario: scenario, onset: start.addingTimeInterval(24 * 3_600), seed: 7), configuration: configuration, database: database)
    }

    static func rows(_ requests: [(id: String, ts: Date, features: [String: JSONValue], churned: Bool)]) -> [ServingData.LabelledRow] {
        requests.map { ServingData.LabelledRow(requestID: $0.id, ts: $0.ts, features: $0.features, label: $0.churned ? "1" : "0", prediction: nil, latency: nil) }
    }

    static func f1(_ model: BuiltinModel, on rows: [ServingData.LabelledRow]) throws -> Double {
        let matrix = try ConfusionMatrix(labels: rows.map { $0.label == "1" ? 1 : 0 }, predictions: rows.map { model.predict($0.features).prediction == "1" ? 1 : 0 })
        return matrix.f1(1)
    }

    @Test("the same seed gives the same requests, however the period is cut")
    func deterministic() async throws {
        try await TestDatabase.withFresh { database in
            let simulator = Self.simulator(.concept, database: database)
            let whole = simulator.requests(from: Self.start, to: Self.start.addingTimeInterval(3 * 3_600))
            let parts = simulator.requests(from: Self.start, to: Self.start.addingTimeInterval(3_600))
                + simulator.requests(from: Self.start.addingTimeInterval(3_600), to: Self.start.addingTimeInterval(3 * 3_600))
            #expect(whole.count == 900)
            #expect(whole.map(\.id) == parts.map(\.id) && whole.map(\.churned) == parts.map(\.churned) && whole.map(\.ts) == parts.map(\.ts))
        }
    }

    @Test("concept drift: a model of the old rule loses F1 after the onset, and one retrained on the new rule gets it back")
    func conceptDrift() async throws {
        try await TestDatabase.withFresh { database in
            let simulator = Self.simulator(.concept, database: database, rate: 500)
            let hour: TimeInterval = 3_600
            let before = Self.rows(simulator.requests(from: Self.start, to: Self.start.addingTimeInterval(16 * hour)))
            let beforeHoldout = Self.rows(simulator.requests(from: Self.start.addingTimeInterval(16 * hour), to: Self.start.addingTimeInterval(24 * hour)))
            let after = Self.rows(simulator.requests(from: Self.start.addingTimeInterval(24 * hour), to: Self.start.addingTimeInterval(40 * hour)))
            let afterHoldout = Self.rows(simulator.requests(from: Self.start.addingTimeInterval(40 * hour), to: Self.start.addingTimeInterval(48 * hour)))
            let old = try BuiltinModel.train(rows: before, features: ChurnTraffic.featureNames, classification: true, l2: 1).model
            let retrained = try BuiltinModel.train(rows: after, features: ChurnTraffic.featureNames, classification: true, l2: 1).model
            let preDrift = try Self.f1(old, on: beforeHoldout), drifted = try Self.f1(old, on: afterHoldout), recovered = try Self.f1(retrained, on: afterHoldout)
            #expect(preDrift > 0.7, "pre-drift F1 \(preDrift)")
            #expect(drifted < preDrift - 0.2, "F1 \(preDrift) → \(drifted) after the onset")
            #expect(abs(recovered - preDrift) <= 0.02 || recovered > preDrift, "retrained F1 \(recovered) against pre-drift \(preDrift)")
        }
    }

    @Test("serving follows the routing: the canary's share, shadow answers from the challenger, labels after their delay, a failing bad challenger")
    func serving() async throws {
        let artifacts = try ServingFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: artifacts) }
        try await TestDatabase.withFresh { database in
            let simulator = Self.simulator(.badChallenger, database: database)
            let history = Self.rows(simulator.requests(from: Self.start, to: Self.start.addingTimeInterval(10 * 3_600)))
            let registry = ModelRegistry(database: database)
            for alias in ["champion", "challenger"] {
                let (model, _, _) = try BuiltinModel.train(rows: alias == "champion" ? history : Array(history.reversed()), features: ChurnTraffic.featureNames,
                                                           classification: true, l2: alias == "champion" ? 1 : 2)
                let (uri, checksum) = try model.write(into: artifacts)
                try await registry.register(NewModelVersion(artifactURI: uri, checksum: checksum, framework: "vigil-builtin/logistic_regression"),
                                            of: "churn", alias: alias, actor: "t", now: Self.start)
            }
            let promotion = try await registry.startPromotion(2, of: "churn", runID: nil, actor: "t", now: Self.start)
            try await registry.setCanary(promotion, percent: 20, actor: "t", reason: "test", now: Self.start)
            let first = try await simulator.serve(from: Self.start, to: Self.start.addingTimeInterval(2 * 3_600))
            #expect(first.champion + first.canary == 600 && first.labels == 0)
            #expect(abs(Double(first.canary) / 600 - 0.2) < 0.05, "\(first.canary) of 600 to the canary")
            #expect(first.shadow == first.champion)
            let second = try await simulator.serve(from: Self.start.addingTimeInterval(2 * 3_600), to: Self.start.addingTimeInterval(4 * 3_600))
            #expect(second.labels == 600)
            let data = ServingData(database: database)
            let canary = try await data.traffic(model: "churn", version: 2, role: "canary", from: Self.start, to: Self.start.addingTimeInterval(4 * 3_600))
            let champion = try await data.traffic(model: "churn", version: 1, role: "champion", from: Self.start, to: Self.start.addingTimeInterval(4 * 3_600))
            #expect(canary.errorRate > 0.05 && champion.errorRate < 0.02, "\(canary.errorRate) \(champion.errorRate)")
            #expect(try await data.labelledRows(model: "churn", from: Self.start, to: Self.start.addingTimeInterval(4 * 3_600)).count == 600)
            let pairs = try await data.shadowPairs(model: "churn", champion: 1, challenger: 2, from: Self.start, to: Self.start.addingTimeInterval(4 * 3_600))
            #expect(pairs.count == second.labels - canary.labelled)
        }
    }
}
