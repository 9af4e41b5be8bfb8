import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Testing
import VigilEngine
import VigilStore
import VigilTesting

/// Vigil with a real MLflow tracking server (`mlflow server`, SQLite backend), which
/// `scripts/test` installs into `.build/mlflow`.
@Suite("MLflow interop", .timeLimit(.minutes(4)))
struct MLflowTests {
    /// Starts `mlflow server` in its own process group on a free port; its URL once `/health` answers.
    static func startMLflow(in folder: URL) async throws -> (url: String, process: Process)? {
        let binary = PythonClientTests.package.appendingPathComponent(".build/mlflow/bin/mlflow").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            Issue.record("MLflow is not installed at \(binary): `bash scripts/test` installs it")
            return nil
        }
        let port = Int.random(in: 20_000...40_000)
        let process = Process()
        // Foundation starts the child as the leader of its own process group: killing the group
        // ends the uvicorn and huey workers mlflow spawns too.
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["server", "--backend-store-uri", "sqlite:///\(folder.path)/db.sqlite", "--artifacts-destination", "\(folder.path)/art",
                             "--host", "127.0.0.1", "--port", String(port), "--workers", "1"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let url = "http://127.0.0.1:\(port)"
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: url + "/health"), timeout: .seconds(2)), response.status == .ok {
                return (url, process)
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        kill(-process.processIdentifier, SIGKILL)
        Issue.record("mlflow server did not answer /health in 90s")
        return nil
    }

    static func post(_ url: String, _ body: String) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        #expect(response.status == .ok, "\(url): \(response.status)")
    }

    /// Vigil's aliases that MLflow mirrors, with their versions (MLflow's numbers equal Vigil's here).
    static func vigilAliases(_ registry: ModelRegistry) async throws -> [String: Int] {
        Dictionary(uniqueKeysWithValues: try await registry.aliases(of: "churn").filter { MLflowMirror.mirroredAliases.contains($0.alias) }.map { ($0.alias, $0.version) })
    }

    @Test("versions registered from MLflow URIs, and MLflow's aliases equal Vigil's after registration, a promotion and a rollback")
    func aliasesFollowVigil() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-mlflow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        guard let (mlflowURL, server) = try await Self.startMLflow(in: folder) else { return }
        defer { kill(-server.processIdentifier, SIGKILL) }
        let api = mlflowURL + "/api/2.0/mlflow"
        try await Self.post(api + "/registered-models/create", #"{"name": "churn"}"#)
        for run in ["a", "b"] {
            try await Self.post(api + "/model-versions/create", #"{"name": "churn", "source": "s3://bucket/churn/\#(run)"}"#)
        }
        let mlflow = MLflowRegistry(trackingURI: mlflowURL)
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment(["MLFLOW_TRACKING_URI": mlflowURL])
            for (uri, alias) in [("models:/churn/1", "champion"), ("models:/churn/2", "challenger")] {
                let registered = try await VigilProcess.run(["models", "register", "churn", "--mlflow-uri", uri, "--alias", alias, "--database-url", url], environment: environment)
                #expect(registered.status == 0, "\(registered.standardError)")
            }
            let versions = try await ModelRegistry(database: database).versions(of: "churn")
            #expect(versions.map(\.artifactURI) == ["models:/churn/1", "models:/churn/2"] && versions.allSatisfy { $0.framework == "mlflow" })
            #expect(versions.last.flatMap { MLflowRegistry.Version(parameters: $0.parameters) }?.source == "s3://bucket/churn/b")
            #expect(try await mlflow.aliases(of: "churn") == ["champion": 1, "challenger": 2])

            // A promotion by canary, as the promote step makes it, then the keeper's mirror.
            let registry = ModelRegistry(database: database)
            let promotion = try await registry.startPromotion(2, of: "churn", runID: nil, actor: "t", now: Date())
            try await registry.setCanary(promotion, percent: 50, actor: "t", reason: "stage", now: Date())
            try await MLflowMirror(database: database, mlflow: mlflow).sync(model: "churn")
            #expect(try await mlflow.aliases(of: "churn") == ["champion": 1, "challenger": 2, "canary": 2])
            try await registry.completePromotion(promotion, actor: "t", reason: "held", now: Date())
            var keeper = AlertKeeper.Configuration()
            keeper.orphanAge = 0
            var channels = ChannelDirectory()
            channels.mlflow = mlflow
            try await AlertKeeper(database: database, channels: channels, configuration: keeper, logger: Logger(label: "mlflow-test")).tick()
            let promoted = try await mlflow.aliases(of: "churn")
            #expect(promoted == (try await Self.vigilAliases(registry)) && promoted["champion"] == 2 && promoted["canary"] == nil, "\(promoted)")

            let rolledBack = try await VigilProcess.run(["models", "rollback", "churn", "--reason", "complaints", "--database-url", url], environment: environment)
            #expect(rolledBack.status == 0, "\(rolledBack.standardError)")
            let restored = try await mlflow.aliases(of: "churn")
            #expect(restored == (try await Self.vigilAliases(registry)) && restored["champion"] == 1, "\(restored)")

            let missing = try await VigilProcess.run(["models", "register", "churn", "--mlflow-uri", "models:/churn/9", "--database-url", url], environment: environment)
            #expect(missing.status != 0 && missing.standardError.contains("MLflow answered 404"), "\(missing.standardError)")
        }
    }
}
