import ArgumentParser
import Logging
import ServiceLifecycle
import Foundation
import VigilServer
import VigilEngine
import VigilStore
import VigilWorkflow

/// Options shared by the commands that run workers.
struct WorkerOptions: ParsableArguments {
    @Option(help: "Steps each worker runs at once.")
    var concurrency = 4

    @Option(help: "How long a claim holds without a heartbeat (a duration such as 15s).")
    var lease = "15s"

    @Option(help: ArgumentHelp("The channels file (default: $VIGIL_CHANNELS_FILE); see docs/escalation.md.", valueName: "file"))
    var channels: String?

    /// The channels every service of this process notifies.
    func channelDirectory() throws -> ChannelDirectory {
        do {
            return try ChannelDirectory.load(file: channels)
        } catch {
            throw CommandFailure("\(error)")
        }
    }

    func configuration() throws -> Worker.Configuration {
        guard let lease = WorkflowDuration(lease), lease.seconds >= 1, lease.seconds <= 86_400 else {
            throw ValidationError("--lease must be a duration from 1s to 1d, such as 15s")
        }
        guard (1...1_024).contains(concurrency) else { throw ValidationError("--concurrency must be from 1 to 1024, found \(concurrency)") }
        var configuration = Worker.Configuration()
        configuration.concurrency = concurrency
        configuration.lease = lease.seconds
        configuration.heartbeatInterval = lease.seconds / 3
        return configuration
    }
}

/// `vigil worker`: runs steps from the shared database until stopped.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Claim and run ready steps; run as many as you like, on any host that reaches the database.",
        discussion: "SIGTERM or SIGINT drains: running steps finish (up to 30s) or are handed back."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: WorkerOptions

    func run() async throws {
        let configuration = try options.configuration()
        let logger = global.makeLogger()
        let channels = try options.channelDirectory()
        try await global.withDatabase(logger: logger) { database in
            let worker = Worker(database: database, registry: .standard(channels: channels), configuration: configuration, logger: logger)
            logger.notice("worker started", metadata: ["worker": "\(configuration.identifier)", "concurrency": "\(configuration.concurrency)"])
            try await ServiceGroup(services: [worker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        }
    }
}

/// `vigil serve`: the HTTP server, the scheduler, the alert keeper and, unless told otherwise,
/// workers: one process is enough on one machine.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP server, the scheduler, the alert keeper and workers (one process is enough on one machine).",
        discussion: """
            Several serve processes may share one database: each schedule tick still starts one run, each notification goes out once.
            Prints `listening on http://HOST:PORT` once the server accepts connections. SIGTERM or SIGINT shuts down gracefully.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: WorkerOptions

    @Flag(help: "Run only the scheduler, the keeper and the server; steps are left to `vigil worker` processes.")
    var noWorkers = false

    @Option(help: "The address the HTTP server listens on.")
    var host = "127.0.0.1"

    @Option(help: "The HTTP port (0 picks a free one).")
    var port = 8080

    @Option(help: "Request bodies larger than this many bytes (1 KiB to 1 GiB; default 64 MiB) are refused with 413, before they are read when Content-Length says so. JSON bodies are capped at 1 MiB or this, whichever is less.")
    var maxBody = 64 << 20

    @Option(help: "How long logged inferences are kept for models whose workflow sets no data.retention, such as 365d (default: kept). Metrics and the audit log are never pruned.")
    var retention: String?

    @Option(help: ArgumentHelp("Export logged inferences to Parquet files under this directory before retention removes them (one file per model, day and pass; each named in the audit log with its SHA-256).", valueName: "directory"))
    var retentionArchive: String?

    func validate() throws {
        if let retention, (WorkflowDuration(retention)?.seconds ?? 0) < 86_400 {
            throw ValidationError("--retention must be a duration of at least 1d, such as 365d, found '\(retention)'")
        }
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be from 0 to 65535, found \(port)") }
        guard (1_024...(1 << 30)).contains(maxBody) else { throw ValidationError("--max-body must be from 1024 to 1073741824 bytes, found \(maxBody)") }
    }

    /// The archive directory, created if missing and checked writable now rather than at the first expired day.
    static func archiveDirectory(_ path: String) throws -> URL {
        let url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure("--retention-archive \(path): cannot create the directory (\(fileErrorReason(error)))")
        }
        guard FileManager.default.isWritableFile(atPath: url.path) else {
            throw CommandFailure("--retention-archive \(path): the directory is not writable by this user")
        }
        return url
    }

    func run() async throws {
        let configuration = try options.configuration()
        let logger = global.makeLogger()
        let directory = try options.channelDirectory()
        var server = APIServer.Configuration()
        server.host = host
        server.port = port
        server.maximumBodyBytes = maxBody
        var schedule = Scheduler.Configuration()
        schedule.defaultRetention = retention.flatMap(WorkflowDuration.init)?.seconds
        if let retentionArchive { schedule.retentionArchive = InferenceArchive(directory: try Self.archiveDirectory(retentionArchive)) }
        try await global.withDatabase(logger: logger) { database in
            let application = APIServer(database: database, configuration: server, logger: logger).application { port in
                // Unbuffered, so a supervisor reading a pipe sees it at once.
                FileHandle.standardOutput.write(Data("listening on http://\(host):\(port)\n".utf8))
            }
            var services: [any Service] = [
                Scheduler(database: database, configuration: schedule, logger: logger), AlertKeeper(database: database, channels: directory, logger: logger), application,
            ]
            if !noWorkers { services.append(Worker(database: database, registry: .standard(channels: directory), configuration: configuration, logger: logger)) }
            logger.notice("serving", metadata: ["workers": "\(noWorkers ? 0 : configuration.concurrency)", "channels": "\(directory.channels.keys.sorted())"])
            try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        }
    }
}
