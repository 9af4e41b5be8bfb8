import ArgumentParser
import Foundation
import VigilEngine
import VigilServer
import VigilStore
import VigilWorkflow

/// `vigil report`: how well Vigil kept a model healthy, measured from its history.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Measure a model's history: drift detection lead time, automated mitigation, time to recover, alert precision and recall, uptime.",
        discussion: """
            Incidents are the model's known drift onsets (recorded by people with `vigil incidents record`, or by `vigil simulate`
            and `vigil demo`), or, when none is recorded, its hard drift alerts not marked false positives. Lead time, onset →
            first alert and recall are measured only against known onsets; precision against them when there are any, else
            against operators' false-positive marks. The report says which windows were back-filled from history rather than
            detected live. See docs/report.md.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, html
    }

    @OptionGroup var global: GlobalOptions
    @Option(help: "The model (default: the only one registered).") var model: String?
    @Option(help: "Only history from this time (RFC 3339) or this long ago (7d); default all of it.") var since: String?
    @Option(help: "Only history up to this time (RFC 3339); default now.") var until: String?
    @Option(help: "Output: text, json or html.") var format: Format = .text
    @Option(help: "Write to this file instead of standard output.") var output: String?
    @Option(help: "The quality metric (f1, accuracy, precision, recall, or a window metric such as rmse).") var metric = "f1"
    @Option(help: "The error-rate objective a window must meet.") var sloErrorRate = 0.01
    @Option(help: "The latency P95 objective, in milliseconds.") var sloLatencyP95 = 250.0

    func run() async throws {
        let from = try since.map { try SinceOption.date($0) } ?? .distantPast
        let to = try until.map { try TimeOption.date($0, option: "--until") } ?? Date()
        var options = ModelReport.Options()
        options.metric = metric
        options.maximumErrorRate = sloErrorRate
        options.maximumLatencyP95 = sloLatencyP95
        let report = try await global.withDatabase(logger: global.makeLogger()) { database in
            let name = try await Self.model(model, in: database)
            return try await ModelReport.build(model: name, from: from, to: to, options: options, database: database)
        }
        let text = switch format {
        case .text: Self.render(report)
        case .json: try JSONOutput.encode(report) + "\n"
        case .html: ReportPage.html(report)
        }
        if let output {
            try Self.write(text, to: output)
            print("wrote \(output)")
        } else {
            print(text, terminator: "")
        }
    }

    /// `name`, or the only model registered.
    static func model(_ name: String?, in database: Database) async throws -> String {
        let models = try await ModelRegistry(database: database).models().map(\.model)
        if let name {
            guard models.contains(name) else {
                throw CommandFailure("no model named '\(name)'" + (models.isEmpty ? "; none is registered yet" : " (known: \(models.joined(separator: ", ")))"))
            }
            return name
        }
        guard models.count == 1 else {
            throw CommandFailure(models.isEmpty ? "no model is registered yet; run `vigil demo` or `vigil models register`" : "pass --model: one of \(models.joined(separator: ", "))")
        }
        return models[0]
    }

    /// Writes whole or not at all: a temporary file renamed into place.
    static func write(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            throw CommandFailure("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// The report as text: timeline, figures, incidents, drifted windows and their drivers.
    static func render(_ report: ModelReport, since: Date? = nil) -> String {
        var lines = ["Timeline of \(report.model)"]
        let events = report.timeline.filter { event in since.map { event.at >= $0 } ?? true }
        lines += events.isEmpty ? ["  nothing happened"] : events.map { "  \(ModelReport.stamp($0.at))  \($0.summary)" }
        lines += ["", "Figures"]
        let width = report.figureRows.map(\.0.count).max() ?? 0
        lines += report.figureRows.map { "  " + $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }
        lines += ["", "What the figures rest on"]
        lines += report.provenanceLines.map { "  " + $0 }
        lines += ["", "Incidents"]
        lines += report.incidentLines.isEmpty ? ["  none"] : report.incidentLines.map { "  " + $0 }
        lines += ["", "Drift and its top drivers (latest windows first)"]
        lines += report.driverLines.isEmpty ? ["  no window drifted"] : report.driverLines.map { "  " + $0 }
        return lines.joined(separator: "\n") + "\n"
    }
}
