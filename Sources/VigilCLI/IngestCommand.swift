import ArgumentParser
import Foundation
import VigilStore
import VigilWorkflow
#if canImport(Glibc)
import Glibc
#endif

/// `vigil ingest`: loads an inference log (or a label file) into PostgreSQL through COPY.
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Load inferences (or delayed labels) from a CSV or JSON-lines file.",
        discussion: """
            Inference files have request_id and ts columns; model_version, role, prediction, score, \
            probabilities, latency_ms, error and label are read when present, and every other column is a \
            feature. Rows are checked against the features declared by the workflow that monitors the \
            model: a row that breaks them is quarantined with its line and reason, the rest load. A \
            malformed file (unclosed quote, wrong field count, invalid JSON) loads nothing and names the line.

            With --labels the file holds request_id and label columns: ground truth for earlier predictions.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "A .csv or .jsonl file.")
    var file: String

    @Option(help: "The model the rows belong to.")
    var model: String

    @Flag(help: "The file holds labels (request_id, label) for earlier predictions.")
    var labels = false

    @Option(help: "The workflow whose data.features check the rows (default: the latest that monitors the model).")
    var workflow: String?

    @Option(name: .customLong("model-version"), help: "Model version for rows without a model_version column.")
    var modelVersion = ""

    @Option(help: "Role for rows without a role column: champion, challenger, shadow or canary.")
    var role = "champion"

    @Option(help: "Output format of the report.")
    var format: ReportFormat = .table

    func validate() throws {
        guard InferenceIngest.roles.contains(role) else {
            throw ValidationError("--role must be one of champion, challenger, shadow, canary")
        }
    }

    func run() async throws {
        let reader = try DataRecordReader(path: file)
        let logger = global.makeLogger()
        let report = try await global.withDatabase(logger: logger) { database in
            let store = WorkflowStore(database: database)
            let spec: WorkflowVersion? = if let workflow { try await store.version(of: workflow) } else { try await store.monitoringWorkflow(forModel: model) }
            let grace = spec?.spec.data?.labelGrace ?? MonitoredData.defaultLabelGrace
            if labels {
                return try await LabelStore(database: database).load(reader, model: model, actor: global.actor, grace: grace)
            }
            var options = InferenceIngest.Options(model: model, features: spec?.spec.data?.features ?? [], actor: global.actor)
            options.labelGrace = grace
            options.modelVersion = modelVersion
            options.role = role
            let progress = isatty(STDERR_FILENO) == 1 ? ProgressLine() : nil
            defer { progress?.finish() }
            return try await InferenceIngest(database: database).load(reader, options: options) { update in
                progress?.show(update)
            }
        }
        print(render(report), terminator: "")
    }

    /// The labels' part of the report, when there were any.
    static func describe(_ outcome: LabelOutcome, file isLabelFile: Bool) -> String {
        var parts: [String] = []
        if isLabelFile || outcome.new > 0 { parts.append("\(outcome.new) new") }
        if outcome.corrected > 0 { parts.append("\(outcome.corrected) corrected (previous values kept in label_corrections)") }
        if isLabelFile || outcome.unchanged > 0 { parts.append("\(outcome.unchanged) unchanged") }
        var text = parts.isEmpty ? "" : "labels: " + parts.joined(separator: ", ") + "\n"
        if outcome.unmatched > 0 {
            text += "\(outcome.unmatched) labels have no inference yet (first: \(outcome.unmatchedSample.joined(separator: ", "))); they wait for it for the workflow's label_grace\n"
        }
        if outcome.expired > 0 { text += "\(outcome.expired) labels waited longer than label_grace for their inference and were dropped\n" }
        return text
    }

    func render(_ report: IngestReport) -> String {
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            return String(decoding: (try? encoder.encode(report)) ?? Data(), as: UTF8.self) + "\n"
        case .csv:
            var table = TextTable(["line", "column", "reason"])
            for row in report.quarantineSample { table.append([String(row.line), row.column ?? "", row.reason]) }
            return table.csv
        case .table:
            let kind = labels ? "labels" : "rows"
            var text = "read \(report.rowsRead) \(kind) for \(report.model) in \(String(format: "%.2f", report.seconds)) s (\(Int(report.rowsPerSecond)) rows/s): "
            text += "\(report.rowsLoaded) inserted, \(report.alreadyPresent) already present, \(report.quarantined) quarantined (batch \(report.batchID))\n"
            text += Self.describe(report.labelOutcome, file: labels)
            if !report.undeclaredColumns.isEmpty {
                text += "columns not declared in the workflow (stored unchecked): \(report.undeclaredColumns.joined(separator: ", "))\n"
            }
            for row in report.quarantineSample {
                text += "  \(file):\(row.line): \(row.reason)\n"
            }
            if report.quarantined > report.quarantineSample.count {
                text += "  … and \(report.quarantined - report.quarantineSample.count) more in quarantined_rows (batch_id = \(report.batchID))\n"
            }
            return text
        }
    }
}

/// A progress line on a terminal: rows, rate, quarantined, share of the file read.
final class ProgressLine: Sendable {
    func show(_ progress: IngestProgress) {
        let share = progress.bytesTotal > 0 ? 100 * progress.bytesRead / progress.bytesTotal : 0
        let line = "\r\(progress.rowsRead) rows · \(Int(progress.rowsPerSecond)) rows/s · \(progress.quarantined) quarantined · \(share)%"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
