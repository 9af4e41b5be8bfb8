import ArgumentParser
import Logging
import ServiceLifecycle
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

/// `vigil serve`: the scheduler and, unless told otherwise, workers: one process is enough on one machine.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the scheduler and workers (one process is enough on one machine).",
        discussion: "Several serve processes may share one database: each schedule tick still starts one run."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: WorkerOptions

    @Flag(help: "Run only the scheduler; steps are left to `vigil worker` processes.")
    var noWorkers = false

    func run() async throws {
        let configuration = try options.configuration()
        let logger = global.makeLogger()
        try await global.withDatabase(logger: logger) { database in
            var services: [any Service] = [Scheduler(database: database, logger: logger)]
            if !noWorkers { services.append(Worker(database: database, configuration: configuration, logger: logger)) }
            logger.notice("serving", metadata: ["workers": "\(noWorkers ? 0 : configuration.concurrency)"])
            try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        }
    }
}
