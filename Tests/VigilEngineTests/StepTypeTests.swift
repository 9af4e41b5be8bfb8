import Foundation
import Testing
import VigilEngine
import VigilStore
import VigilTesting
import VigilWorkflow

/// `produce`: records an artifact and a lineage edge from an input node to it.
struct ProduceStep: WorkflowStep {
    struct Parameters: Decodable, Sendable {}
    static let schema = StepSchema(typeName: "produce", summary: "Produce an artifact.")

    func run(_ parameters: Parameters, in context: StepContext) async throws -> StepOutcome {
        let artifact = try await context.recordArtifact(name: "model", kind: "model_artifact", uri: "file:///tmp/model.json", checksum: "abc")
        try await context.recordLineage(from: LineageNode(kind: "data_window", id: "2026-11-24T10:00Z"), to: context.runNode, relation: "trained_on")
        return .completed(["artifact": .string(artifact.id)])
    }
}

@Suite("Built-in step types", .timeLimit(.minutes(4)))
struct StepTypeTests {
    @Test("http: retries 5xx with the same idempotency key, fails for good on 404, returns a JSON body")
    func http() async throws {
        try await withReceiver { base, requests in
            try await TestDatabase.withFresh { database in
                _ = try await EngineFixtures.apply("""
                    name: calls
                    steps:
                      flaky:
                        uses: http
                        with: { url: "\(base)/flaky", body: { model: churn } }
                        retry: { max_attempts: 3, backoff: { initial: 50ms, max: 100ms } }
                      missing:
                        uses: http
                        with: { url: "\(base)/missing" }
                        retry: 3
                      ok:
                        uses: http
                        needs: flaky
                        with: { url: "\(base)/ok", method: PUT, body: { version: 2 } }
                    """, to: database)
                let id = try await RunLauncher(database: database).start("calls", trigger: .init(kind: .manual, actor: "t")).runID
                let run = try await EngineFixtures.withWorkers(database) { try await EngineFixtures.waitForRun(id, in: database) }
                #expect(run.state == .failed)
                let steps = Dictionary(uniqueKeysWithValues: try await RunStore(database: database).steps(ofRun: id).map { ($0.name, $0) })
                #expect(steps["flaky"]?.state == .succeeded && steps["flaky"]?.attempt == 3)
                #expect(steps["missing"]?.state == .failed && steps["missing"]?.attempt == 1)
                #expect(steps["missing"]?.error?.contains("answered 404") == true)
                #expect(steps["ok"]?.outputs?["body"]?["accepted"] == .bool(true))
                let flaky = try requests().filter { $0["path"] == "/flaky" }
                #expect(flaky.count == 3)
                #expect(Set(flaky.map { $0["idempotency_key"] ?? "" }) == ["run-\(id)-flaky"])
                #expect(flaky.first?["method"] == "POST" && flaky.first?["body"] == #"{"model":"churn"}"#)
                #expect(try requests().first { $0["path"] == "/ok" }?["method"] == "PUT")
            }
        }
    }

    @Test("command: a program that exits non-zero, or writes bad outputs, fails with a clear reason")
    func commandFailures() async throws {
        try await TestDatabase.withFresh { database in
            _ = try await EngineFixtures.apply("""
                name: programs
                steps:
                  exits:
                    uses: command
                    with: { run: ["sh", "-c", "echo oops >&2; exit 3"] }
                  garbage:
                    uses: command
                    with: { run: ["sh", "-c", "echo '[1, 2]' > $VIGIL_OUTPUTS"] }
                  absent:
                    uses: command
                    with: { run: ["/no/such/program"] }
                """, to: database)
            let store = RunStore(database: database)
            let id = try await RunLauncher(database: database).start("programs", trigger: .init(kind: .manual, actor: "t")).runID
            _ = try await EngineFixtures.withWorkers(database) { try await EngineFixtures.waitForRun(id, in: database) }
            let steps = Dictionary(uniqueKeysWithValues: try await store.steps(ofRun: id).map { ($0.name, $0) })
            #expect(steps["exits"]?.error == "sh exited with status 3")
            #expect(steps["garbage"]?.error == "sh wrote outputs that are not a JSON object to $VIGIL_OUTPUTS")
            #expect(steps["absent"]?.error == "cannot start /no/such/program: No such file or directory")
            #expect(try await store.logs(ofRun: id, step: "exits").map(\.line) == ["oops"])
        }
    }

    @Test("steps record artifacts and lineage, and the graph walks both ways")
    func artifacts() async throws {
        try await TestDatabase.withFresh { database in
            var registry = EngineFixtures.registry
            registry.register(ProduceStep())
            let spec = try WorkflowLoader.parse(Array("name: make\nsteps:\n  build: { uses: produce }\n".utf8), file: "make.yaml", catalog: registry.catalog)
            _ = try await WorkflowStore(database: database).apply([WorkflowFile(path: "make.yaml", source: "name: make\nsteps:\n  build: { uses: produce }\n", spec: spec)], actor: "t")
            let id = try await RunLauncher(database: database).start("make", trigger: .init(kind: .manual, actor: "t")).runID
            let worker = Worker(database: database, registry: registry, configuration: EngineFixtures.workerConfiguration(), logger: EngineFixtures.logger)
            let run = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await worker.run() }
                let run = try await EngineFixtures.waitForRun(id, in: database)
                worker.stop()
                try await group.waitForAll()
                return run
            }
            #expect(run.state == .succeeded)
            let lineage = LineageStore(database: database)
            let artifacts = try await lineage.artifacts(ofRun: id)
            #expect(artifacts.map(\.uri) == ["file:///tmp/model.json"] && artifacts.first?.checksum == "abc")
            let around = try await lineage.graph(around: LineageNode(kind: "run", id: String(id)))
            #expect(around.upstream.map(\.from) == [LineageNode(kind: "data_window", id: "2026-11-24T10:00Z")])
            #expect(around.downstream.map(\.to) == [LineageNode(kind: "artifact", id: String(artifacts[0].id))])
        }
    }
}
