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

    func configuration() throws -> Worker.Configuration {
        guard let lease = WorkflowDuration(lease), lease.seconds >= 1 else {
            throw ValidationError("--lease must be a duration of at least 1s, such as 15s")
        }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
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
        try await global.withDatabase(logger: logger) { database in
            let worker = Worker(database: database, configuration: configuration, logger: logger)
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

    @Option(help: ArgumentHelp("The channels file (default: $VIGIL_CHANNELS_FILE); see docs/escalation.md.", valueName: "file"))
    var channels: String?

    @Option(help: "Request bodies larger than this many bytes are refused (413).")
    var maxBody = 1 << 20

    @Option(help: "Inference and label batches larger than this many bytes are refused (413).")
    var maxBatch = 64 << 20

    func run() async throws {
        let configuration = try options.configuration()
        let logger = global.makeLogger()
        let directory: ChannelDirectory
        do {
            directory = try ChannelDirectory.load(file: channels)
        } catch {
            throw CommandFailure("\(error)")
        }
        var server = APIServer.Configuration()
        server.host = host
        server.port = port
        server.maximumBodyBytes = maxBody
        server.maximumIngestBytes = maxBatch
        try await global.withDatabase(logger: logger) { database in
            let application = APIServer(database: database, configuration: server, logger: logger).application { port in
                // Unbuffered, so a supervisor reading a pipe sees it at once.
                FileHandle.standardOutput.write(Data("listening on http://\(host):\(port)\n".utf8))
            }
            var services: [any Service] = [
                Scheduler(database: database, logger: logger), AlertKeeper(database: database, channels: directory, logger: logger), application,
            ]
            if !noWorkers { services.append(Worker(database: database, configuration: configuration, logger: logger)) }
            logger.notice("serving", metadata: ["workers": "\(noWorkers ? 0 : configuration.concurrency)", "channels": "\(directory.channels.keys.sorted())"])
            try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        }
    }
}
