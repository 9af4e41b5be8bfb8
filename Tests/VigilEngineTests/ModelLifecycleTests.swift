import Foundation
import Testing
import VigilEngine
import VigilStatistics
import VigilStore
import VigilTesting
import VigilWorkflow

/// Seeded serving traffic for the `churn` model: requests whose label follows an old concept
/// (`a > 50`) or a new one (`b > 15`), champion and canary traffic with chosen error rates.
enum ServingFixtures {
    static let start = Date(timeIntervalSince1970: 1_764_000_000)

    struct Request {
        var id: String
        var ts: Date
        var version: Int
        var role = "champion"
        var a: Double
        var b: Double
        var plan: String
        var prediction = "0"
        var latency = 20.0
        var error = false
        var label: String?
    }

    /// `count` requests evenly spread over `[from, from + span)`, labelled by `concept`.
    static func requests(_ count: Int, from: Date, span: TimeInterval, version: Int, role: String = "champion", concept: String?, seed: UInt64,
                         errorRate: Double = 0, prefix: String) -> [Request] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { index in
            let a = generator.uniform() * 100, b = generator.uniform() * 30
            let plan = ["basic", "pro", "team"][Int(generator.uniform() * 3)]
            let noisy = generator.uniform() < 0.05
            var label: String?
            if let concept {
                let positive = concept == "old" ? a > 50 : b > 15
                label = (positive != noisy) ? "1" : "0"
            }
            return Request(id: "\(prefix)-\(index)", ts: from.addingTimeInterval(span * Double(index) / Double(count)), version: version, role: role,
                           a: a, b: b, plan: plan, latency: 15 + generator.uniform() * 10, error: generator.uniform() < errorRate, label: label)
        }
    }

    static func insert(_ requests: [Request], into database: Database) async throws {
        let log = ServingLog(database: database)
        try await log.append(requests.map { request in
            ServingLog.Prediction(requestID: request.id, ts: request.ts, version: request.version, role: request.role,
                                  features: ["a": .number(request.a), "b": .number(request.b), "plan": .string(request.plan)],
                                  prediction: request.prediction, score: 0, latency: request.latency, error: request.error)
        }, model: "churn")
        try await log.label(requests.compactMap { request in request.label.map { (request.id, $0, request.ts) } }, model: "churn")
    }

    /// Trains a built-in model on `requests` and registers it as the champion.
    static func registerChampion(trainedOn requests: [Request], in database: Database, artifacts: URL) async throws -> Int {
        let rows = requests.map { request in
            ServingData.LabelledRow(requestID: request.id, ts: request.ts, features: ["a": .number(request.a), "b": .number(request.b), "plan": .string(request.plan)],
                                    label: request.label ?? "0", prediction: nil, latency: nil)
        }
        let (model, metrics, count) = try BuiltinModel.train(rows: rows, features: ["a", "b", "plan"], classification: true, l2: 1)
        let (uri, checksum) = try model.write(into: artifacts)
        return try await ModelRegistry(database: database).register(
            NewModelVersion(artifactURI: uri, checksum: checksum, framework: "vigil-builtin/logistic_regression", trainingRows: count, metrics: metrics),
            of: "churn", alias: "champion", actor: "alice", reason: "first model", now: start.addingTimeInterval(-30 * 86_400)
        ).version
    }

    /// A champion trained on the old concept; two days of labelled traffic under the new one; and
    /// what serving logs during a canary of version 2 (with `canaryErrorRate` of its requests failing).
    ///
    /// - Returns: the champion's version.
    @discardableResult
    static func seedConceptDrift(_ database: Database, artifacts: URL, canaryErrorRate: Double) async throws -> Int {
        let champion = try await registerChampion(
            trainedOn: requests(600, from: start.addingTimeInterval(-40 * 86_400), span: 86_400, version: 0, concept: "old", seed: 1, prefix: "old"),
            in: database, artifacts: artifacts)
        try await insert(requests(1_500, from: start.addingTimeInterval(-2 * 86_400), span: 2 * 86_400, version: champion, concept: "new", seed: 2, prefix: "recent"),
                         into: database)
        try await insert(
            requests(600, from: start, span: 6 * 3_600, version: 2, role: "canary", concept: nil, seed: 3, errorRate: canaryErrorRate, prefix: "canary")
                + requests(1_200, from: start, span: 6 * 3_600, version: champion, concept: nil, seed: 4, prefix: "live"), into: database)
        return champion
    }

    static let data = """
        data:
          timestamp: ts
          prediction: prediction
          label: label
          problem_type: classification
          granularity: 1h
          features:
            a: { type: number }
            b: { type: number }
            plan: { type: category }
        """

    /// A workflow that retrains, compares in shadow, and promotes by canary.
    static func lifecycle(guards: String = "{ max_error_rate: 0.05, min_requests: 30 }", trigger: String = "") -> String {
        """
        name: lifecycle
        model: churn
        \(trigger)
        \(data)
        steps:
          retrain:
            uses: retrain
            with: { executor: builtin, window: 2d, seed: 7 }
          shadow:
            uses: shadow_compare
            needs: retrain
            with:
              challenger: ${{ steps.retrain.outputs.model_version }}
              window: 2d
              metric: f1
              promote_if: { min_samples: 200, min_lift: 0.0, significance: 0.05 }
          promote:
            uses: promote
            needs: shadow
            if: steps.shadow.outputs.decision == 'promote'
            with:
              version: ${{ steps.shadow.outputs.challenger }}
              stages: [10, 50, 100]
              hold: 1h
              guards: \(guards)
        """
    }

    static func registry(artifacts: URL, routing: String? = nil) -> StepRegistry {
        var registry = EngineFixtures.registry
        registry.register(RetrainStep(artifacts: artifacts))
        registry.register(ShadowCompareStep(artifacts: artifacts))
        registry.register(PromoteStep(routingWebhook: routing))
        return registry
    }

    /// Runs workers on a manual clock that moves ten minutes every 20 ms, while the run only waits,
    /// until run `id` ends.
    static func runToEnd(_ id: Int, in database: Database, clock: ManualClock, registry: StepRegistry) async throws -> RunSummary {
        // A lease of a day of clock time: ten-minute jumps never take a running step away.
        try await EngineFixtures.withWorkers(database, clock: clock, configuration: EngineFixtures.workerConfiguration(lease: 86_400), registry: registry) {
            let store = RunStore(database: database)
            let deadline = ContinuousClock.now + .seconds(120)
            while ContinuousClock.now < deadline {
                let run = try await store.run(id)
                if run.state.isTerminal { return run }
                // Time moves only while every step sleeps: a claimed step's lease is in clock time too.
                if run.state == .waiting, try await store.steps(ofRun: id).allSatisfy({ $0.state != .running && $0.state != .ready }) {
                    clock.advance(by: 600)
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            return try await store.run(id)
        }
    }

    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-models-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }
}

@Suite("Model lifecycle: registry, retrain, shadow comparison, canary promotion", .timeLimit(.minutes(3)))
struct ModelLifecycleTests {
    @Test("a drift alert starts a retrain whose truly better challenger goes through every canary stage; the changelog and lineage tell the story")
    func betterChallengerPromoted() async throws {
        let artifacts = try ServingFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: artifacts) }
        try await withReceiver { base, requests in
            try await TestDatabase.withFresh { database in
                let start = ServingFixtures.start
                try await ServingFixtures.seedConceptDrift(database, artifacts: artifacts, canaryErrorRate: 0)
                try await EscalationFixtures.insertDriftedWindow(database)
                _ = try await EngineFixtures.apply(EscalationFixtures.watch(channels: "{ hard: [] }"), to: database)
                _ = try await EngineFixtures.apply(ServingFixtures.lifecycle(trigger: "triggers: [{ alert: churn-drift, labels: { severity: hard } }]"), to: database)

                let clock = ManualClock(start)
                let registry = ServingFixtures.registry(artifacts: artifacts, routing: "\(base)/routing")
                let watch = try await RunLauncher(database: database, clock: clock).start("watch", trigger: .init(kind: .manual, actor: "t")).runID
                #expect(try await ServingFixtures.runToEnd(watch, in: database, clock: clock, registry: registry).state == .succeeded)
                let started = try await RunStore(database: database).list(workflow: "lifecycle", state: nil, limit: 5)
                try #require(started.count == 1)
                let run = try await ServingFixtures.runToEnd(started[0].id, in: database, clock: clock, registry: registry)
                let steps = Dictionary(uniqueKeysWithValues: try await RunStore(database: database).steps(ofRun: run.id).map { ($0.name, $0) })
                #expect(run.state == .succeeded, "\(steps.mapValues { $0.error ?? "" })")
                #expect(steps["retrain"]?.outputs?["model_version"] == .number(2))
                let shadow = try #require(steps["shadow"]?.outputs)
                #expect(shadow["decision"] == .string("promote") && shadow["source"] == .string("replay"))
                #expect((shadow["lift"]?.numberValue ?? 0) > 0.2 && (shadow["p_value"]?.numberValue ?? 1) < 1e-6)
                #expect((shadow["lift_low"]?.numberValue ?? 0) > 0)
                #expect(steps["promote"]?.outputs?["promoted"] == .bool(true) && steps["promote"]?.outputs?["final_stage"] == .number(100))

                let models = ModelRegistry(database: database)
                let routing = try await models.routing(of: "churn")
                #expect(routing.championVersion == 2 && routing.canaryVersion == nil && routing.shadowVersion == nil)
                let history = try await models.changelog(of: "churn").map { entry in
                    "\(entry.action) \(entry.alias ?? "-") \(entry.version.map(String.init) ?? "-")" + (entry.details["weight"]?.numberValue.map { " \($0)" } ?? "")
                }
                #expect(history == [
                    "registered - 1", "alias_moved champion 1", "registered - 2", "alias_moved challenger 2", "shadow_started - 2", "shadow_result - 2",
                    "canary canary 2 0.1", "canary canary 2 0.5", "promoted champion 2",
                ])
                let entries = try await models.changelog(of: "churn")
                #expect(entries.filter { $0.version == 2 }.allSatisfy { $0.runID == run.id })
                #expect(entries.last?.reason == "canary passed every stage's guards" && entries.last?.fromVersion == 1)
                let version = try await models.version(2, of: "churn")
                #expect(version.parentVersion == 1 && version.runID == run.id && version.checksum != nil)
                #expect((version.metrics["accuracy"]?.numberValue ?? 0) > 0.85)

                let routed = try requests().filter { $0["path"] == "/routing" }.map { EscalationFixtures.json($0["body"]) }
                // Delivery is at least once: a step attempt that ran twice (the manual clock can
                // outrun a lease) posts the same routing twice, never a different one.
                let weights = routed.map { $0["canary_weight"] as? Double ?? -1 }
                #expect(zip(weights, weights.dropFirst()).filter { $0 != $1 }.map(\.1) == [0.5, 0] && weights.first == 0.1, "\(weights)")
                #expect(routed.last?["champion_version"] as? Int == 2)

                let lineage = try await LineageStore(database: database).graph(around: LineageNode(kind: "model_version", id: "churn@2"))
                let upstream = Set(lineage.upstream.flatMap { [$0.from.kind, $0.to.kind] })
                #expect(upstream.isSuperset(of: ["data_window", "alert", "training_window", "run"]), "\(upstream)")
                let downstream = Set(lineage.downstream.map(\.to.kind))
                #expect(downstream.isSuperset(of: ["shadow_comparison", "promotion"]), "\(downstream)")
                let alert = try #require(try await AlertStore(database: database).list(model: "churn").first)
                try await AlertKeeper(database: database, channels: ChannelDirectory(), clock: clock, logger: EngineFixtures.logger).tick()
                #expect(try await AlertStore(database: database).alert(alert.id).state == .resolved)
            }
        }
    }

    @Test("a worse challenger is rejected at shadow comparison")
    func worseChallengerRejected() async throws {
        let artifacts = try ServingFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: artifacts) }
        try await TestDatabase.withFresh { database in
            let start = ServingFixtures.start
            let recent = ServingFixtures.requests(1_000, from: start.addingTimeInterval(-86_400), span: 86_400, version: 1, concept: "new", seed: 5, prefix: "recent")
            let champion = try await ServingFixtures.registerChampion(trainedOn: recent, in: database, artifacts: artifacts)
            try await ServingFixtures.insert(recent, into: database)
            let stale = ServingFixtures.requests(600, from: start.addingTimeInterval(-40 * 86_400), span: 86_400, version: 0, concept: "old", seed: 6, prefix: "old")
            let rows = stale.map { ServingData.LabelledRow(requestID: $0.id, ts: $0.ts, features: ["a": .number($0.a), "b": .number($0.b), "plan": .string($0.plan)],
                                                           label: $0.label!, prediction: nil, latency: nil) }
            let (worse, _, _) = try BuiltinModel.train(rows: rows, features: ["a", "b", "plan"], classification: true, l2: 1)
            let (uri, checksum) = try worse.write(into: artifacts)
            let challenger = try await ModelRegistry(database: database).register(
                NewModelVersion(artifactURI: uri, checksum: checksum, framework: "vigil-builtin/logistic_regression"), of: "churn", alias: "challenger",
                actor: "bob", now: start).version
            _ = try await EngineFixtures.apply("""
                name: judge
                model: churn
                \(ServingFixtures.data)
                steps:
                  shadow: { uses: shadow_compare, with: { window: 2d, promote_if: { min_samples: 200, significance: 0.05 } } }
                """, to: database)
            let clock = ManualClock(start)
            let id = try await RunLauncher(database: database, clock: clock).start("judge", trigger: .init(kind: .manual, actor: "t")).runID
            let run = try await ServingFixtures.runToEnd(id, in: database, clock: clock, registry: ServingFixtures.registry(artifacts: artifacts))
            #expect(run.state == .succeeded)
            let outputs = try #require(try await RunStore(database: database).steps(ofRun: id).first?.outputs)
            #expect(outputs["decision"] == .string("reject") && outputs["challenger"] == .number(Double(challenger)) && outputs["champion"] == .number(Double(champion)))
            #expect((outputs["lift"]?.numberValue ?? 0) < -0.2)
            #expect(outputs["reasons"]?.description.contains("is not above min_lift 0") == true)
            // The rejected challenger loses its alias, and the changelog says why.
            let changelog = try await ModelRegistry(database: database).changelog(of: "churn")
            #expect(changelog.suffix(2).map(\.action) == ["shadow_result", "alias_moved"])
            #expect(changelog.last?.reason?.hasPrefix("rejected in shadow comparison") == true && changelog.last?.alias == "challenger")
            #expect(try await ModelRegistry(database: database).version(aliased: "challenger", of: "churn") == nil)
            #expect(try await ModelRegistry(database: database).routing(of: "churn").championVersion == champion)
        }
    }

    /// An external champion and challenger (artifacts Vigil cannot score), 300 labelled requests
    /// the champion answered "0" in the three hours before `start`, and a workflow that waits up
    /// to `wait` for 200 labelled shadow answers.
    static func externalShadow(_ database: Database, wait: String) async throws -> [ServingFixtures.Request] {
        let registry = ModelRegistry(database: database)
        for (version, alias) in [(1, "champion"), (2, "challenger")] {
            _ = try await registry.register(NewModelVersion(artifactURI: "s3://models/churn/\(version)", framework: "sklearn"), of: "churn", alias: alias,
                                            actor: "t", now: ServingFixtures.start.addingTimeInterval(Double(version - 10) * 3_600))
        }
        let requests = ServingFixtures.requests(300, from: ServingFixtures.start.addingTimeInterval(-3 * 3_600), span: 3 * 3_600, version: 1,
                                                concept: "new", seed: 9, prefix: "served")
        try await ServingFixtures.insert(requests, into: database)
        _ = try await EngineFixtures.apply("""
            name: judge
            model: churn
            \(ServingFixtures.data)
            steps:
              shadow: { uses: shadow_compare, with: { window: 6h, wait_for_samples: \(wait), check_every: 10m, promote_if: { min_samples: 200 } } }
            """, to: database)
        return requests
    }

    @Test("shadow_compare waits for an external challenger's shadow answers, then judges them")
    func waitsForShadowAnswers() async throws {
        try await TestDatabase.withFresh { database in
            let requests = try await Self.externalShadow(database, wait: "2h")
            let clock = ManualClock(ServingFixtures.start)
            let id = try await RunLauncher(database: database, clock: clock).start("judge", trigger: .init(kind: .manual, actor: "t")).runID
            let store = RunStore(database: database)
            let run = try await EngineFixtures.withWorkers(database, clock: clock, configuration: EngineFixtures.workerConfiguration(lease: 86_400),
                                                           registry: EngineFixtures.registry) {
                let deadline = ContinuousClock.now + .seconds(60)
                while try await store.run(id).state != .waiting && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                // Nothing to judge yet: the step sleeps. Now the serving layer logs the challenger's answers (right on 95% of them).
                try await ServingLog(database: database).append(requests.map { request in
                    ServingLog.Prediction(requestID: request.id, ts: request.ts, version: 2, role: "shadow", features: [:], prediction: request.label ?? "0",
                                          score: 0, latency: 30, error: false)
                }, model: "churn")
                while ContinuousClock.now < deadline {
                    let run = try await store.run(id)
                    if run.state.isTerminal { return run }
                    if run.state == .waiting { clock.advance(by: 600) }
                    try await Task.sleep(for: .milliseconds(20))
                }
                return try await store.run(id)
            }
            #expect(run.state == .succeeded)
            let step = try #require(try await store.steps(ofRun: id).first)
            #expect(step.outputs?["source"] == .string("logged") && step.outputs?["samples"] == .number(300), "\(step.outputs ?? [:])")
            #expect(step.outputs?["decision"] == .string("promote"), "\(step.outputs?["reasons"] ?? .null)")
            #expect(try await ModelRegistry(database: database).version(aliased: "challenger", of: "churn") == 2)
        }
    }

    @Test("without enough shadow answers by the end of the wait, an external challenger is rejected with \"not enough shadow traffic\" and loses its alias")
    func notEnoughShadowTraffic() async throws {
        try await TestDatabase.withFresh { database in
            _ = try await Self.externalShadow(database, wait: "1h")
            let clock = ManualClock(ServingFixtures.start)
            let id = try await RunLauncher(database: database, clock: clock).start("judge", trigger: .init(kind: .manual, actor: "t")).runID
            let run = try await ServingFixtures.runToEnd(id, in: database, clock: clock, registry: EngineFixtures.registry)
            #expect(run.state == .succeeded)
            let outputs = try #require(try await RunStore(database: database).steps(ofRun: id).first?.outputs)
            #expect(outputs["decision"] == .string("reject"))
            #expect(outputs["reasons"] == .array([.string("not enough shadow traffic: 0 of 200 labelled shadow answers after waiting 1h (log them with role shadow, or lower min_samples)")]),
                    "\(outputs["reasons"] ?? .null)")
            #expect(clock.now() >= ServingFixtures.start.addingTimeInterval(3_600))
            let last = try #require(try await ModelRegistry(database: database).changelog(of: "churn").last)
            #expect(last.action == "alias_moved" && last.alias == "challenger" && last.reason?.contains("not enough shadow traffic") == true)
        }
    }

    /// A scorer as a team would write one: it reads the replay file it is handed and writes one
    /// prediction per request. Version 1 follows the old concept (`a > 50`), version 2 the new one
    /// (`b > 15`); `--drop N` leaves the last N requests out. It refuses labels or database settings.
    static let scorer = #"""
        import argparse, csv, os, sys
        parser = argparse.ArgumentParser()
        for name in ["--model", "--version", "--artifact-uri", "--framework", "--input", "--manifest", "--output"]:
            parser.add_argument(name, required=True)
        parser.add_argument("--drop", type=int, default=0)
        args = parser.parse_args()
        if any(key.startswith("PG") or key == "VIGIL_DATABASE_URL" for key in os.environ):
            sys.exit("the scorer was handed database settings")
        if args.artifact_uri != "s3://models/churn/" + args.version or os.environ["VIGIL_PREDICTIONS"] != args.output:
            sys.exit("wrong artifact or output")
        with open(args.input, newline="") as replay:
            rows = list(csv.DictReader(replay))
        if "label" in rows[0]:
            sys.exit("the scorer was handed labels")
        with open(args.output, "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["request_id", "prediction"])
            for row in rows[:len(rows) - args.drop]:
                positive = float(row["a"]) > 50 if args.version == "1" else float(row["b"]) > 15
                writer.writerow([row["request_id"], "1" if positive else "0"])
        """#

    @Test("a command scorer replays the window for external models: it gets the requests without labels or credentials, its answers decide, and a short answer fails the step")
    func commandScorer() async throws {
        let artifacts = try ServingFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: artifacts) }
        try await TestDatabase.withFresh { database in
            let models = ModelRegistry(database: database)
            for (version, alias) in [(1, "champion"), (2, "challenger")] {
                _ = try await models.register(NewModelVersion(artifactURI: "s3://models/churn/\(version)", framework: "sklearn"), of: "churn", alias: alias,
                                              actor: "t", now: ServingFixtures.start.addingTimeInterval(Double(version - 10) * 3_600))
            }
            try await ServingFixtures.insert(ServingFixtures.requests(300, from: ServingFixtures.start.addingTimeInterval(-3 * 3_600), span: 3 * 3_600, version: 1,
                                                                      concept: "new", seed: 9, prefix: "served"), into: database)
            let script = artifacts.appendingPathComponent("score.py")
            try Self.scorer.write(to: script, atomically: true, encoding: .utf8)
            for (name, extra) in [("judge", ""), ("short", ", '--drop', '10'")] {
                _ = try await EngineFixtures.apply("""
                    name: \(name)
                    model: churn
                    \(ServingFixtures.data)
                    steps:
                      shadow:
                        uses: shadow_compare
                        retry: { max_attempts: 1 }
                        with: { window: 6h, scorer: { command: [python3, '\(script.path)'\(extra)] }, promote_if: { min_samples: 200 } }
                    """, to: database)
            }
            let registry = ServingFixtures.registry(artifacts: artifacts)
            let clock = ManualClock(ServingFixtures.start)
            let judged = try await RunLauncher(database: database, clock: clock).start("judge", trigger: .init(kind: .manual, actor: "t")).runID
            let run = try await ServingFixtures.runToEnd(judged, in: database, clock: clock, registry: registry)
            let step = try #require(try await RunStore(database: database).steps(ofRun: judged).first)
            #expect(run.state == .succeeded, "\(step.error ?? "")")
            let outputs = step.outputs ?? [:]
            #expect(outputs["source"] == .string("command") && outputs["samples"] == .number(300), "\(outputs)")
            #expect(outputs["decision"] == .string("promote") && (outputs["lift"]?.numberValue ?? 0) > 0.3, "\(outputs["reasons"] ?? .null)")
            let folder = artifacts.appendingPathComponent("churn/runs/\(judged)-shadow-1-replay")
            let replay = try String(contentsOf: folder.appendingPathComponent("replay.csv"), encoding: .utf8).split(separator: "\n")
            #expect(replay.first == "request_id,ts,a,b,plan" && replay.count == 301)
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("predictions-1.csv").path))
            #expect(try await models.version(aliased: "challenger", of: "churn") == 2)

            let short = try await RunLauncher(database: database, clock: clock).start("short", trigger: .init(kind: .manual, actor: "t")).runID
            #expect(try await ServingFixtures.runToEnd(short, in: database, clock: clock, registry: registry).state == .failed)
            let error = try await RunStore(database: database).steps(ofRun: short).first?.error ?? ""
            #expect(error.hasSuffix("predictions-1.csv: no prediction for 10 of 300 replayed requests (the first: served-290)"), "\(error)")
        }
    }

    @Test("a challenger that breaks a guard at 10% is rolled back at once; the champion never stops serving")
    func rollbackOnGuardBreach() async throws {
        let artifacts = try ServingFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: artifacts) }
        try await TestDatabase.withFresh { database in
            let start = ServingFixtures.start
            // Better offline, but the canary fails one request in ten.
            let champion = try await ServingFixtures.seedConceptDrift(database, artifacts: artifacts, canaryErrorRate: 0.1)
            _ = try await EngineFixtures.apply(ServingFixtures.lifecycle(), to: database)
            let clock = ManualClock(start)
            let id = try await RunLauncher(database: database, clock: clock).start("lifecycle", trigger: .init(kind: .manual, actor: "t")).runID
            let run = try await ServingFixtures.runToEnd(id, in: database, clock: clock, registry: ServingFixtures.registry(artifacts: artifacts))
            let promote = try #require(try await RunStore(database: database).steps(ofRun: id).first { $0.name == "promote" }?.outputs)
            #expect(run.state == .succeeded)
            #expect(promote["promoted"] == .bool(false) && promote["rolled_back"] == .bool(true) && promote["final_stage"] == .number(10))
            #expect(promote["reason"]?.stringValue?.hasPrefix("10%: canary error rate 0.") == true, "\(promote)")
            let models = ModelRegistry(database: database)
            let routing = try await models.routing(of: "churn")
            #expect(routing.championVersion == champion && routing.canaryVersion == nil)
            let entries = try await models.changelog(of: "churn")
            // The champion alias was set once, by hand, and never moved.
            #expect(entries.filter { $0.alias == "champion" }.map(\.action) == ["alias_moved"])
            #expect(Array(entries.suffix(2).map(\.action)) == ["canary", "rolled_back"])
            #expect(entries.last?.reason == promote["reason"]?.stringValue)
            let alert = try #require(try await AlertStore(database: database).list(model: "churn").first)
            #expect(alert.rule == "churn-canary-rollback" && alert.severity == .hard && alert.subject == "version 2")
        }
    }

    @Test("two promotions of one model at once: the database lets one through")
    func concurrentPromotions() async throws {
        let artifacts = try ServingFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: artifacts) }
        try await TestDatabase.withFresh { database in
            let models = ModelRegistry(database: database)
            let old = ServingFixtures.requests(200, from: ServingFixtures.start, span: 3_600, version: 0, concept: "old", seed: 8, prefix: "x")
            _ = try await ServingFixtures.registerChampion(trainedOn: old, in: database, artifacts: artifacts)
            for _ in 0..<4 {
                try await models.register(NewModelVersion(artifactURI: "s3://models/churn/x", framework: "external"), of: "churn", actor: "t", now: Date())
            }
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for version in 2...5 {
                    group.addTask { (try? await models.startPromotion(version, of: "churn", runID: nil, actor: "t", now: Date())) != nil }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            // Even a writer that bypasses Vigil cannot open a second promotion.
            await #expect(throws: (any Error).self) {
                try await database.client.query("INSERT INTO promotions (model, version, state, started_at) VALUES ('churn', 3, 'canary', now())")
            }
            // The champion moves only from the version the promotion started with.
            let promotion = try #require(try await database.client.query("SELECT id FROM promotions").decode(Int.self).first { _ in true })
            let started = try await models.promotion(promotion)
            try await models.moveAlias("champion", of: "churn", to: 5, actor: "mallory", reason: "by hand", now: Date())
            await #expect(throws: StoreError.self) { try await models.completePromotion(started, actor: "t", reason: "done", now: Date()) }
            #expect(try await models.routing(of: "churn").championVersion == 5)
        }
    }

    /// A built-in champion, then 300 labelled requests in the last two days (ids `in-…`), 100
    /// unlabelled ones, and 50 labelled ones twenty days ago, outside a 7-day training window.
    static func seedTrainingWindow(_ database: Database, artifacts: URL) async throws -> Int {
        let now = Date()
        let champion = try await ServingFixtures.registerChampion(
            trainedOn: ServingFixtures.requests(200, from: now.addingTimeInterval(-40 * 86_400), span: 86_400, version: 0, concept: "old", seed: 1, prefix: "old"),
            in: database, artifacts: artifacts)
        try await ServingFixtures.insert(ServingFixtures.requests(300, from: now.addingTimeInterval(-2 * 86_400), span: 86_400, version: champion,
                                                                  concept: "new", seed: 2, prefix: "in"), into: database)
        try await ServingFixtures.insert(ServingFixtures.requests(100, from: now.addingTimeInterval(-86_000), span: 3_600, version: champion,
                                                                  concept: nil, seed: 3, prefix: "unlabelled"), into: database)
        try await ServingFixtures.insert(ServingFixtures.requests(50, from: now.addingTimeInterval(-20 * 86_400), span: 3_600, version: champion,
                                                                  concept: "new", seed: 4, prefix: "old-window"), into: database)
        return champion
    }

    @Test("an http trainer is sent the handed files' paths, hash and manifest; it reads them, and the hash is in the new version's lineage")
    func httpTrainerHandOff() async throws {
        let artifacts = try ServingFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: artifacts) }
        try await TestDatabase.withFresh { database in
            let champion = try await Self.seedTrainingWindow(database, artifacts: artifacts)
            try await withReceiver { base, requests in
                _ = try await EngineFixtures.apply("""
                    name: handoff
                    model: churn
                    data: { features: { a: number, b: number, plan: { type: category } } }
                    steps:
                      retrain: { uses: retrain, with: { executor: http, url: '\(base)/train', window: 7d, poll_interval: 10ms } }
                    """, to: database)
                let id = try await RunLauncher(database: database).start("handoff", trigger: .init(kind: .manual, actor: "t")).runID
                let run = try await EngineFixtures.withWorkers(database, registry: ServingFixtures.registry(artifacts: artifacts)) {
                    try await EngineFixtures.waitForRun(id, in: database)
                }
                let step = try #require(try await RunStore(database: database).steps(ofRun: id).first)
                #expect(run.state == .succeeded, "\(step.error ?? "")")
                let file = artifacts.appendingPathComponent("churn/runs/\(id)-retrain-1-data/training.csv")
                let hash = try Data(contentsOf: file).sha256Hex
                let posted = try #require(try requests().first { $0["path"] == "/train" })
                let body = try #require(try JSONSerialization.jsonObject(with: Data((posted["body"] ?? "").utf8)) as? [String: Any])
                let handed = try #require(body["training_data"] as? [String: Any])
                #expect(handed["path"] as? String == file.path && handed["sha256"] as? String == hash && handed["rows"] as? Int == 300)
                #expect((handed["manifest"] as? [String: Any])?["parent_version"] as? Int == champion)

                let version = try #require(try await ModelRegistry(database: database).versions(of: "churn").last)
                #expect(version.metrics["rows_seen"] == .number(300) && version.metrics["hash_matches"] == .number(1), "\(version.metrics)")
                #expect(version.parameters["training_data_sha256"] == .string(hash) && version.trainingRows == 300 && version.parentVersion == champion)
                let lineage = try await LineageStore(database: database).graph(around: LineageNode(kind: "model_version", id: "churn@\(version.version)"))
                #expect(lineage.upstream.contains { $0.from == LineageNode(kind: "training_data", id: "sha256:\(hash)") && $0.relation == "trained_on" })
            }
        }
    }

    @Test("a command trainer is handed the window's labelled rows as CSV with a manifest (schema, rows, window, hash, parent), and the hash is in the new version's lineage")
    func trainingDataHandOff() async throws {
        let artifacts = try ServingFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: artifacts) }
        try await TestDatabase.withFresh { database in
            let champion = try await Self.seedTrainingWindow(database, artifacts: artifacts)
            // The trainer reads only what it was handed: it counts the rows and echoes the manifest's hash.
            let script = #"n=$(($(wc -l < "$VIGIL_TRAINING_DATA") - 1)); h=$(sed -n "s/.*\"data_sha256\":\"\([0-9a-f]*\)\".*/\1/p" "$VIGIL_TRAINING_MANIFEST"); "#
                + #"[ "$7" = "--output-dir" ] && [ "${11}" = "--training-data" ] && [ "${12}" = "$VIGIL_TRAINING_DATA" ] || exit 9; "#
                + #"echo $n > $VIGIL_OUTPUT_DIR/m.bin; echo "{\"artifact\": \"m.bin\", \"framework\": \"sh\", \"metrics\": {\"rows_seen\": $n}, \"parameters\": {\"hash_seen\": \"$h\"}}" > $VIGIL_OUTPUT_DIR/manifest.json"#
            _ = try await EngineFixtures.apply("""
                name: handoff
                model: churn
                data: { features: { a: number, b: number, plan: { type: category } } }
                steps:
                  retrain:
                    uses: retrain
                    with: { executor: command, window: 7d, command: [sh, -c, '\(script)', trainer] }
                """, to: database)
            let id = try await RunLauncher(database: database).start("handoff", trigger: .init(kind: .manual, actor: "t")).runID
            let run = try await EngineFixtures.withWorkers(database, registry: ServingFixtures.registry(artifacts: artifacts)) {
                try await EngineFixtures.waitForRun(id, in: database)
            }
            let step = try #require(try await RunStore(database: database).steps(ofRun: id).first)
            #expect(run.state == .succeeded, "\(step.error ?? "")")

            let folder = artifacts.appendingPathComponent("churn/runs/\(id)-retrain-1-data")
            let csv = try String(contentsOf: folder.appendingPathComponent("training.csv"), encoding: .utf8).split(separator: "\n")
            #expect(csv.first == "request_id,ts,model_version,role,prediction,score,label,a,b,plan")
            #expect(csv.count == 301 && csv.dropFirst().allSatisfy { $0.hasPrefix("in-") }, "\(csv.count) lines")
            let manifestData = try Data(contentsOf: folder.appendingPathComponent("manifest.json"))
            let manifest = try #require(try JSONSerialization.jsonObject(with: manifestData) as? [String: Any])
            let hash = try Data(contentsOf: folder.appendingPathComponent("training.csv")).sha256Hex
            #expect(manifest["rows"] as? Int == 300 && manifest["data_sha256"] as? String == hash && manifest["parent_version"] as? Int == champion)
            let schema = (manifest["schema"] as? [[String: String]])?.map { "\($0["name"]!):\($0["type"]!)" }
            #expect(schema?.suffix(3) == ["a:number", "b:number", "plan:string"], "\(schema ?? [])")

            let version = try #require(try await ModelRegistry(database: database).versions(of: "churn").last)
            #expect(version.metrics["rows_seen"] == .number(300) && version.parameters["hash_seen"] == .string(hash))
            #expect(version.parameters["training_data_sha256"] == .string(hash) && version.trainingRows == 300)
            let lineage = try await LineageStore(database: database).graph(around: LineageNode(kind: "model_version", id: "churn@\(version.version)"))
            #expect(lineage.upstream.contains { $0.from == LineageNode(kind: "training_data", id: "sha256:\(hash)") && $0.relation == "trained_on" })
            // The documented view serves the same rows to a team that prefers SQL.
            let counted = try await database.client.query("""
                SELECT count(*)::int8 FROM vigil.labelled_inferences WHERE model = 'churn' AND request_id LIKE 'in-%'
                """).decode(Int.self)
            for try await count in counted { #expect(count == 300) }
            // The schema holds the views only: for the role `vigil`, Vigil's own tables still land in public.
            let misplaced = try await database.client.query("SELECT count(*)::int8 FROM pg_tables WHERE schemaname = 'vigil'").decode(Int.self)
            for try await count in misplaced { #expect(count == 0) }
        }
    }

    @Test("a command trainer that fails, hangs or writes no manifest fails clearly, leaves no process, and keeps its idempotency key across retries")
    func commandTrainer() async throws {
        let artifacts = try ServingFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: artifacts) }
        try await TestDatabase.withFresh { database in
            let keys = artifacts.appendingPathComponent("keys.txt")
            func workflow(_ name: String, _ script: String, extra: String = "") -> String {
                """
                name: \(name)
                model: churn
                steps:
                  retrain:
                    uses: retrain
                    retry: { max_attempts: 2, backoff: { initial: 10ms, max: 10ms } }
                    \(extra)
                    with: { executor: command, command: [sh, -c, '\(script)', trainer] }
                """
            }
            _ = try await EngineFixtures.apply(workflow("exits", "echo starting; exit 3"), to: database)
            _ = try await EngineFixtures.apply(workflow("hangs", "sleep 987", extra: "timeout: 1s"), to: database)
            _ = try await EngineFixtures.apply(workflow("silent", "echo $VIGIL_IDEMPOTENCY_KEY $5 $11 >> \(keys.path)"), to: database)
            _ = try await EngineFixtures.apply(workflow("works", #"echo model > $VIGIL_OUTPUT_DIR/m.bin; echo {\"artifact\": \"m.bin\", \"framework\": \"sh\", \"metrics\": {\"f1\": 0.8}} > $VIGIL_OUTPUT_DIR/manifest.json"#), to: database)
            let registry = ServingFixtures.registry(artifacts: artifacts)
            var errors: [String: String] = [:]
            for name in ["exits", "hangs", "silent", "works"] {
                let id = try await RunLauncher(database: database).start(name, trigger: .init(kind: .manual, actor: "t")).runID
                let run = try await EngineFixtures.withWorkers(database, registry: registry) { try await EngineFixtures.waitForRun(id, in: database) }
                let step = try #require(try await RunStore(database: database).steps(ofRun: id).first)
                #expect(run.state == (name == "works" ? .succeeded : .failed))
                #expect(step.attempt == (name == "works" ? 1 : 2))
                errors[name] = step.error ?? ""
            }
            #expect(errors["exits"] == "the training command sh exited with status 3")
            #expect(errors["hangs"] == "timed out after 1s")
            #expect(errors["silent"]?.hasPrefix("the training command sh wrote no manifest: expected ") == true, "\(errors)")
            let lines = try String(contentsOf: keys, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 2 && Set(lines).count == 1, "\(lines)")
            #expect(lines.first?.split(separator: " ").count == 3)
            let pids = try await ProcessList.matching("sleep 987")
            #expect(pids.isEmpty, "an orphan trainer is still running: \(pids)")
            let version = try await ModelRegistry(database: database).versions(of: "churn").first
            #expect(version?.framework == "sh" && version?.metrics["f1"] == .number(0.8) && version?.checksum == Array("model\n".utf8).sha256Hex)
        }
    }
}

/// Processes whose command line contains a text (read from /proc).
enum ProcessList {
    static func matching(_ text: String) async throws -> [Int] {
        let entries = try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap(Int.init)
        return entries.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(text)
        }
    }
}
