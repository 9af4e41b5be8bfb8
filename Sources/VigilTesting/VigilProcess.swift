import Foundation
import VigilStore

/// Runs the built `vigil` executable as a child process, the way a person or script would.
public struct VigilProcess: Sendable {
    public struct Output: Sendable {
        public let status: Int32
        public let standardOutput: String
        public let standardError: String
    }

    /// The `vigil` binary next to the running test bundle (`swift build` puts them in one folder).
    public static var executable: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("vigil")
    }

    /// An environment with no database configured: no `VIGIL_*` or `PG*` variables.
    public static func cleanEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        ProcessInfo.processInfo.environment
            .filter { !$0.key.hasPrefix("PG") && !$0.key.hasPrefix("VIGIL_") }
            .merging(extra) { $1 }
    }

    /// Starts `vigil arguments…`, through `launcher` when given (such as ``NetworkHosts/launcher(on:)``,
    /// which execs it on another host); call ``Running/wait()`` for its output.
    public static func start(_ arguments: [String], environment: [String: String], launcher: [String] = []) throws -> Running {
        let process = Process()
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = launcher.dropFirst() + [executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        process.environment = environment
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let out = folder.appendingPathComponent("out"), err = folder.appendingPathComponent("err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return Running(process: process, folder: folder)
    }

    /// Runs `vigil arguments…` to completion.
    public static func run(_ arguments: [String], environment: [String: String]) async throws -> Output {
        try await start(arguments, environment: environment).wait()
    }

    /// Runs `vigil arguments… --database-url URL` against `database`, with nothing else configured.
    public static func run(_ arguments: [String], on database: Database) async throws -> Output {
        try await run(arguments + ["--database-url", database.configuration.url(revealingPassword: true)], environment: cleanEnvironment())
    }

    /// A started `vigil` process.
    public final class Running: @unchecked Sendable {
        // Safe: `process` is only touched through `wait()`, which callers await once.
        let process: Process
        let folder: URL

        init(process: Process, folder: URL) {
            self.process = process
            self.folder = folder
        }

        /// A process a test stopped (or killed) without waiting for it leaves no output folder
        /// behind; the files stay open to the process if it still runs.
        deinit {
            try? FileManager.default.removeItem(at: folder)
        }

        public var processIdentifier: Int32 { process.processIdentifier }

        /// What the process has written to standard output so far.
        public var standardOutputSoFar: String {
            (try? String(contentsOf: folder.appendingPathComponent("out"), encoding: .utf8)) ?? ""
        }

        /// What the process has written to standard error so far.
        public var standardErrorSoFar: String {
            (try? String(contentsOf: folder.appendingPathComponent("err"), encoding: .utf8)) ?? ""
        }

        public func wait() async throws -> Output {
            while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
            defer { try? FileManager.default.removeItem(at: folder) }
            return Output(
                status: process.terminationStatus,
                standardOutput: try String(contentsOf: folder.appendingPathComponent("out"), encoding: .utf8),
                standardError: try String(contentsOf: folder.appendingPathComponent("err"), encoding: .utf8)
            )
        }
    }
}
