import Foundation
import Testing
import VigilStore
import VigilTesting

/// The Python client (`clients/python`) tested with pytest against a real `vigil serve` on a
/// fresh, seeded database: `scripts/test` installs the client into `.build/python-client`.
@Suite("The Python client against vigil serve", .timeLimit(.minutes(4)))
struct PythonClientTests {
    static let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    /// The venv interpreter with the client installed, or `nil` (recorded as an issue) when
    /// `scripts/test` has not made it.
    static func interpreter() -> String? {
        let python = ProcessInfo.processInfo.environment["VIGIL_CLIENT_PYTHON"] ?? package.appendingPathComponent(".build/python-client/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("the Python client is not installed at \(python): `bash scripts/test` installs it (or set VIGIL_CLIENT_PYTHON)")
            return nil
        }
        return python
    }

    @Test("vigil-client's pytest suite passes against a live server, then survives the server being killed while it logs 10,000 rows a second")
    func pytest() async throws {
        guard let python = Self.interpreter() else { return }
        try await TestDatabase.withFresh { database in
            let url = database.configuration.url(revealingPassword: true)
            let environment = VigilProcess.cleanEnvironment()
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-client-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try """
                name: quick
                model: churn
                steps:
                  wait: { uses: sleep, with: { for: 1s } }
                """.write(to: folder.appendingPathComponent("quick.yaml"), atomically: true, encoding: .utf8)
            try """
                name: fraud-watch
                model: fraud
                sensitive: true
                steps:
                  wait: { uses: sleep, with: { for: 1s } }
                """.write(to: folder.appendingPathComponent("fraud.yaml"), atomically: true, encoding: .utf8)
            let applied = try await VigilProcess.run(["apply", folder.path, "--database-url", url], environment: environment)
            #expect(applied.status == 0, "\(applied.standardError)")
            try await ModelRegistry(database: database).register(NewModelVersion(artifactURI: "s3://m/churn/1", framework: "sklearn"), of: "churn",
                                                                 alias: "champion", actor: "t", now: Date())
            _ = try await AlertStore(database: database).raise(AlertFinding(model: "churn", rule: "churn-drift", severity: .hard), idempotencyKey: nil,
                                                               runID: nil, actor: "t", now: Date())
            try await MetricRowsFixture.window("churn", start: Date(timeIntervalSince1970: 1_764_000_000), drift: [("tenure", 0.3), ("plan", 0.05)],
                                               performance: [("accuracy", 0.9), ("f1", 0.85)], in: database)
            let tokens = TokenStore(database: database)
            let token = try await tokens.create(principal: "notebook", roles: [.operator], sensitiveModels: [], actor: "t", now: Date()).token
            let ingest = try await tokens.create(principal: "serving", roles: [.ingest], sensitiveModels: [], actor: "t", now: Date()).token
            let (base, server) = try await startServe(url: url, environment: environment, maxBody: 8 << 20, workers: true)
            defer { kill(server.processIdentifier, SIGKILL) }

            var variables = ProcessInfo.processInfo.environment
            variables.merge(["VIGIL_URL": base, "VIGIL_TOKEN": token, "VIGIL_INGEST_TOKEN": ingest, "VIGIL_WORKFLOW": "quick",
                             "VIGIL_PID": String(server.processIdentifier), "PYTHONDONTWRITEBYTECODE": "1"]) { $1 }
            let tests = Self.package.appendingPathComponent("clients/python/tests").path
            let first = try await Self.run(python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not stops_server", tests], environment: variables)
            #expect(first.status == 0, "pytest:\n\(first.output.suffix(4_000))")
            #expect(first.output.contains("27 passed"), "\(first.output.suffix(1_000))")
            // Last, on its own: the server is killed while the client logs.
            let second = try await Self.run(python, ["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "-m", "stops_server", tests], environment: variables)
            #expect(second.status == 0 && second.output.contains("1 passed"), "pytest:\n\(second.output.suffix(4_000))")
            print(second.output.split(separator: "\n").first { $0.contains("rows at") } ?? "")
        }
    }

    /// Runs `executable` in the package folder and collects its output (stdout and stderr together).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]) async throws -> (status: Int32, output: String) {
        try await runCollectingOutput(executable, arguments, environment: environment, directory: package)
    }
}
