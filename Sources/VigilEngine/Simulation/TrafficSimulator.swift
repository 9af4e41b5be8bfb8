import Foundation
import VigilStatistics
import VigilStore
import VigilWorkflow

/// Plays a serving layer for the churn model: requests of ``ChurnTraffic`` are routed as
/// `model_routing` says (champion, or canary by its weight), answered by that version's built-in
/// artifact, answered again in shadow by the challenger, logged with latencies and occasional
/// errors; ground truth arrives `labelDelay` later.
///
/// Serving a period is a pure function of the seed and the routing: requests are drawn per hour
/// from a generator seeded by the hour, so serving one day at once or hour by hour logs the same
/// requests, and labels for requests of an earlier call are drawn again when they fall due.
public struct TrafficSimulator: Sendable {
    public struct Configuration: Sendable {
        public var model = "churn"
        public var requestsPerHour = 300
        public var labelDelay: TimeInterval = 2 * 3_600
        /// No request before this is served or labelled.
        public var start: Date
        public var errorRate = 0.002

        public init(start: Date) {
            self.start = start
        }
    }

    /// What serving a period did.
    public struct Served: Sendable, Equatable {
        public var champion = 0
        public var canary = 0
        public var shadow = 0
        public var labels = 0

        public init() {}
    }

    public let traffic: ChurnTraffic
    public let configuration: Configuration
    let database: Database

    public init(traffic: ChurnTraffic, configuration: Configuration, database: Database) {
        self.traffic = traffic
        self.configuration = configuration
        self.database = database
    }

    /// The requests of `[from, to)` with their truth (none before the configuration's start).
    public func requests(from: Date, to: Date) -> [(id: String, ts: Date, features: [String: JSONValue], churned: Bool)] {
        draw(from: max(from, configuration.start), to: to)
    }

    /// The requests of `[from, to)` with their truth, whether or not they are served.
    func draw(from: Date, to: Date) -> [(id: String, ts: Date, features: [String: JSONValue], churned: Bool)] {
        guard from < to else { return [] }
        var requests: [(id: String, ts: Date, features: [String: JSONValue], churned: Bool)] = []
        var hour = (from.timeIntervalSince1970 / 3_600).rounded(.down)
        while hour * 3_600 < to.timeIntervalSince1970 {
            var generator = SeededGenerator(seed: traffic.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(hour))
            for index in 0..<configuration.requestsPerHour {
                let ts = Date(timeIntervalSince1970: hour * 3_600 + 3_600 * (Double(index) + generator.uniform()) / Double(configuration.requestsPerHour))
                let (features, churned) = traffic.request(at: ts, using: &generator)
                if ts >= from && ts < to { requests.append(("\(configuration.model)-\(Int(hour))-\(index)", ts, features, churned)) }
            }
            hour += 1
        }
        return requests
    }

    /// Serves `[from, to)` as the routing stands now, and records the labels that fall due in it.
    @discardableResult
    public func serve(from: Date, to: Date) async throws -> Served {
        let registry = ModelRegistry(database: database)
        let routing = try await registry.routing(of: configuration.model)
        guard let champion = routing.championVersion else {
            throw TrainingError("model \(configuration.model) has no champion to serve; register one first")
        }
        var models: [Int: BuiltinModel] = [:]
        for version in [champion, routing.canaryVersion, routing.shadowVersion].compactMap({ $0 }) where models[version] == nil {
            let record = try await registry.version(version, of: configuration.model)
            models[version] = try BuiltinModel.load(uri: record.artifactURI, checksum: record.checksum)
        }
        var served = Served()
        var predictions: [ServingLog.Prediction] = []
        for request in requests(from: from, to: to) {
            var generator = SeededGenerator(seed: Self.fnv1a(request.id))
            let canary = routing.canaryVersion.flatMap { generator.uniform() < routing.canaryWeight ? $0 : nil }
            let version = canary ?? champion
            let failing = canary != nil && traffic.scenario == .badChallenger ? 0.1 : configuration.errorRate
            let (label, score) = models[version]!.predict(request.features)
            predictions.append(ServingLog.Prediction(
                requestID: request.id, ts: request.ts, version: version, role: canary == nil ? "champion" : "canary", features: request.features,
                prediction: label, score: score, latency: max(2, generator.normal(mean: 20, deviation: 4)), error: generator.uniform() < failing
            ))
            if canary == nil { served.champion += 1 } else { served.canary += 1 }
            if let shadow = routing.shadowVersion, shadow != version, let model = models[shadow] {
                let (label, score) = model.predict(request.features)
                predictions.append(ServingLog.Prediction(
                    requestID: request.id, ts: request.ts, version: shadow, role: "shadow", features: request.features, prediction: label, score: score,
                    latency: max(2, generator.normal(mean: 22, deviation: 4)), error: false
                ))
                served.shadow += 1
            }
        }
        let log = ServingLog(database: database)
        try await log.append(predictions, model: configuration.model)
        let due = requests(from: from.addingTimeInterval(-configuration.labelDelay), to: to.addingTimeInterval(-configuration.labelDelay))
        try await log.label(due.map { ($0.id, $0.churned ? "1" : "0", $0.ts.addingTimeInterval(configuration.labelDelay)) }, model: configuration.model)
        served.labels = due.count
        return served
    }

    /// Trains a built-in model on the truth of `[from, to)` (requests that were never served) and
    /// registers it as the champion: a model for the simulated traffic to start from.
    @discardableResult
    public func bootstrapChampion(trainingFrom from: Date, to: Date, artifacts: URL? = nil, actor: String, now: Date) async throws -> ModelVersion {
        let rows = draw(from: from, to: to).map {
            ServingData.LabelledRow(requestID: $0.id, ts: $0.ts, features: $0.features, label: $0.churned ? "1" : "0", prediction: nil, latency: nil)
        }
        let (fitted, metrics, count) = try BuiltinModel.train(rows: rows, features: ChurnTraffic.featureNames, classification: true, l2: 1)
        let (uri, checksum) = try fitted.write(into: RetrainStep.artifactDirectory(artifacts).appendingPathComponent(configuration.model))
        return try await ModelRegistry(database: database).register(
            NewModelVersion(artifactURI: uri, checksum: checksum, framework: "vigil-builtin/logistic_regression", trainingStart: from,
                            trainingEnd: to, trainingRows: count, metrics: metrics),
            of: configuration.model, alias: "champion", actor: actor, reason: "bootstrap champion for the simulation", now: now
        )
    }

    /// A stable 64-bit hash of text (FNV-1a), for draws that must not depend on the process.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
