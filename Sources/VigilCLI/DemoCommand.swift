import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Synchronization
import VigilEngine
import VigilServer
import VigilStore
import VigilWorkflow

/// `vigil demo`: the closed loop on simulated traffic, start to finish, on the real engine.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Watch the churn model drift and Vigil notice, escalate, retrain, compare in shadow and promote by canary.",
        discussion: """
            Applies workflows/churn-monitor.yaml and workflows/churn-retrain.yaml, trains a champion on simulated history,
            and runs the scheduler and workers in this process over simulated hours (see ClosedLoop). Notifications go to a
            local receiver that prints them. The demo owns its database: it starts from an empty one each time (the embedded
            cluster by default), so the same seed gives the same timeline, and refuses a database holding anyone else's
            workflows or models. At the end it prints the timeline and figures and writes an HTML report.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The scenario: \(ChurnTraffic.Scenario.allCases.map(\.rawValue).joined(separator: ", ")).") var scenario = "concept"
    @Option(help: "Simulated hours the engine runs (default \(ClosedLoop.Configuration().hours); covariate-delayed: \(ClosedLoop.Configuration.delayedLabels().hours)).")
    var hours: Int?
    @Option(help: "Hours after the start when the scenario's drift begins (default \(ClosedLoop.Configuration().onsetHours); covariate-delayed: \(ClosedLoop.Configuration.delayedLabels().onsetHours)).")
    var onset: Int?
    @Option(help: "Requests per simulated hour (default \(ClosedLoop.Configuration().requestsPerHour); covariate-delayed: \(ClosedLoop.Configuration.delayedLabels().requestsPerHour)).")
    var rate: Int?
    @Option(help: "The seed.") var seed: UInt64 = 7
    @Option(help: "The folder holding churn-monitor.yaml and churn-retrain.yaml (covariate-delayed reads its delayed-labels/ folder).") var workflows = "workflows"
    @Option(help: "Where the HTML report goes (default: VIGIL_HOME/report.html).") var report: String?

    static let actor = "simulator"

    func run() async throws {
        guard let kind = ChurnTraffic.Scenario(rawValue: scenario) else {
            throw ValidationError("--scenario must be one of \(ChurnTraffic.Scenario.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var configuration = kind == .covariateDelayed ? ClosedLoop.Configuration.delayedLabels() : ClosedLoop.Configuration()
        configuration.scenario = kind
        configuration.hours = hours ?? configuration.hours
        configuration.onsetHours = onset ?? configuration.onsetHours
        configuration.requestsPerHour = rate ?? configuration.requestsPerHour
        configuration.seed = seed
        let longest = 24 * 40
        guard (1...longest).contains(configuration.hours), (0...longest).contains(configuration.onsetHours),
              (10...50_000).contains(configuration.requestsPerHour) else {
            throw ValidationError("--hours must be 1 to \(longest), --onset 0 to \(longest), and --rate 10 to 50000")
        }
        let files = try Self.workflowFiles(in: Self.workflowFolder(workflows, scenario: kind))
        var options = ModelReport.Options()
        options.metric = Self.reportMetric(kind)
        let logger = global.makeLogger()
        let database = try await freshDatabase(logger: logger)
        let view = DemoView(interactive: isatty(STDOUT_FILENO) == 1, start: configuration.start)
        view.say("Vigil demo: \(kind.rawValue) drift in the churn model over \(configuration.hours) simulated hours from \(ModelReport.stamp(configuration.start)) UTC (seed \(seed))")
        let built = try await Database.withDatabase(database, logger: logger) { database in
            try await Migrator(database: database).apply()
            return try await Self.withReceiver(logger: logger, deliver: { view.notified(channel: $0, line: $1) }) { channels, routing in
                let loop = ClosedLoop(database: database, configuration: configuration, registry: Self.registry(routing: routing), channels: channels, logger: logger)
                view.say("training a champion on simulated history and serving \(configuration.historyHours) hours of it…")
                try await loop.prepare(workflows: files)
                try await loop.run { hour in view.show(hour) }
                return try await ModelReport.build(model: configuration.model, from: .distantPast, to: configuration.end, options: options, database: database)
            }
        }
        view.finish()
        let path = report ?? EmbeddedCluster.defaultHome().appendingPathComponent("report.html").path
        try ReportCommand.write(ReportPage.html(built), to: path)
        print("")
        print(ReportCommand.render(built, since: configuration.start), terminator: "")
        print("""

            HTML report (charts of drift and \(options.metric) with alerts, retrains and promotions marked): \(path)
            Look closer: vigil runs list · vigil models changelog churn · vigil lineage churn@2 · vigil audit verify · vigil report --model churn
            """)
    }

    /// The database, emptied: the demo's own history only, so a seed always gives the same timeline.
    func freshDatabase(logger: Logger) async throws -> DatabaseConfiguration {
        let configuration = try global.resolveDatabase(logger: logger)
        do {
            let taken = try await Database.withDatabase(configuration, maximumConnections: 1, logger: logger) { database in
                try await database.holdsWork(besides: Self.actor)
            }
            guard !taken else {
                throw CommandFailure("""
                    the database \(configuration.database) holds workflows or models of your own, and the demo starts from an empty one: \
                    run it with VIGIL_HOME=/tmp/vigil-demo (its own embedded cluster) or --database-url of an empty database
                    """)
            }
            try await Database.recreate(configuration, logger: logger)
        } catch {
            throw CommandFailure(error)
        }
        return configuration
    }

    /// Runs `body` with a local notification receiver listening; passes its channels and routing
    /// URL. `deliver` gets each notification as a channel and one line.
    static func withReceiver<Result: Sendable>(
        logger: Logger, deliver: @escaping @Sendable (String, String) async -> Void, _ body: (ChannelDirectory, String) async throws -> Result
    ) async throws -> Result {
        // Cancelling the receiver at the end makes Hummingbird log its shutdown as errors; they mean nothing here.
        var quiet = logger
        quiet.logLevel = .critical
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let application = NotificationReceiver(logger: quiet, deliver: deliver).application { port in continuation.yield(port) }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.runService(gracefulShutdownSignals: []) }
            defer { group.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CommandFailure("the local notification receiver did not start") }
            let base = "http://127.0.0.1:\(port)"
            let result = try await body(NotificationReceiver.channels(at: base), "\(base)/routing")
            group.cancelAll()
            return result
        }
    }

    /// The registry the demo runs: the standard steps, with routing changes pushed to `routing`.
    static func registry(routing: String) -> StepRegistry {
        var registry = StepRegistry.standard
        registry.register(PromoteStep(routingWebhook: routing))
        return registry
    }

    /// Where a scenario's workflows are: `delayed-labels/` under `folder` for labels two weeks late.
    static func workflowFolder(_ folder: String, scenario: ChurnTraffic.Scenario) -> String {
        scenario == .covariateDelayed ? URL(fileURLWithPath: folder).appendingPathComponent("delayed-labels").path : folder
    }

    /// What the report measures quality by: accuracy for a covariate shift (whose F1 barely moves), else F1.
    static func reportMetric(_ scenario: ChurnTraffic.Scenario) -> String {
        scenario == .covariateDelayed ? "accuracy" : "f1"
    }

    /// The demo's two workflow files from `folder`.
    static func workflowFiles(in folder: String) throws -> [WorkflowFile] {
        try ["churn-monitor.yaml", "churn-retrain.yaml"].map { name in
            let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: path) else {
                throw CommandFailure("\(path) not found: run from the repository's root, or pass --workflows FOLDER")
            }
            return try WorkflowFiles.loadAll([path])[0]
        }
    }
}

/// What a person watching the demo sees: in a terminal, one line per event and notification as
/// they happen under a status line rewritten every simulated hour; elsewhere nothing until the end.
final class DemoView: Sendable {
    let interactive: Bool
    let start: Date
    /// Notifications received in the current hour, printed with it in a stable order.
    private let pending = Mutex<[String]>([])

    init(interactive: Bool, start: Date) {
        self.interactive = interactive
        self.start = start
    }

    func say(_ line: String) {
        print(line)
    }

    func notified(channel: String, line: String) {
        pending.withLock { $0.append("→ \(channel): \(line)") }
    }

    func show(_ hour: ClosedLoop.Hour) {
        let notifications = pending.withLock { lines in
            defer { lines = [] }
            return lines.sorted()
        }
        guard interactive else { return }
        let clock = String(ModelReport.stamp(hour.end).suffix(5))
        var output = "\r\u{1B}[2K"
        for event in hour.events { output += "  \(clock)  \(event.summary)\n" }
        for line in notifications { output += "  \(clock)    \(line)\n" }
        // The status line is rewritten in place: it must fit on one terminal line.
        var size = winsize()
        let width = ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 10 ? Int(size.ws_col) - 1 : 119
        output += String(status(hour).prefix(width))
        FileHandle.standardOutput.write(Data(output.utf8))
    }

    func status(_ hour: ClosedLoop.Hour) -> String {
        var parts = ["T+\(String(format: "%02d", hour.index))h \(ModelReport.stamp(hour.end))"]
        if let window = hour.window, let f1 = window.metrics["f1"] {
            let drifted = window.drift.filter { $0.columnRole == "feature" && $0.drifted }.count
            parts.append(String(format: "F1 %.3f", f1.value) + " · drifted \(drifted)/\(window.drift.filter { $0.columnRole == "feature" }.count)")
        }
        parts.append(hour.openAlerts.isEmpty ? "no open alert" : hour.openAlerts.map { "\($0.severity.rawValue) alert #\($0.id)" }.joined(separator: ", "))
        var routing = "serving v\(hour.routing.championVersion.map(String.init) ?? "?")"
        if let canary = hour.routing.canaryVersion { routing += " + canary v\(canary) \(Int((hour.routing.canaryWeight * 100).rounded()))%" }
        parts.append(routing)
        if let step = hour.activeSteps.first { parts.append(String(step.prefix(60))) }
        return parts.joined(separator: " │ ")
    }

    func finish() {
        if interactive { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }
}
