import ArgumentParser
import Foundation
import VigilEngine
import VigilStatistics
import VigilStore
import VigilWorkflow

extension MetricListing.Kind: ExpressibleByArgument {}

/// `vigil metrics KIND`: the per-window metric tables, for the terminal or another tool.
struct MetricsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Show drift, performance, integrity or operational metrics per window.",
        discussion: "The same rows as the drift_metrics, performance_metrics, integrity_metrics and operational_metrics tables (docs/monitoring.md)."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "drift, performance, integrity or operational.")
    var kind: MetricListing.Kind

    @Option(help: "The model.")
    var model: String

    @Option(help: "Only windows starting at or after this time (ISO 8601) or this long ago (such as 24h or 7d).")
    var since: String?

    @Flag(help: "Include per-slice rows, not only whole windows.")
    var slices = false

    @Flag(help: "Only rows that drifted (drift only).")
    var drifted = false

    @Flag(help: "Performance only: show the estimates made before labels (estimated, lower, upper) beside the realised values.")
    var estimated = false

    @Option(help: "Most rows shown, newest windows first.")
    var limit = 200

    @Option(help: "Drift only: roll the stored windows up into longer ones (such as 1d), from their profiles.")
    var rollup: String?

    @Option(help: "Output format.")
    var format: ReportFormat = .table

    func run() async throws {
        let start = try sinceDate()
        let logger = global.makeLogger()
        var length: WorkflowDuration?
        if estimated && kind != .performance { throw ValidationError("--estimated applies to performance metrics only") }
        if let rollup {
            guard kind == .drift else { throw ValidationError("--rollup applies to drift metrics only") }
            guard let parsed = WorkflowDuration(rollup) else { throw ValidationError("--rollup takes a duration such as 6h or 1d") }
            length = parsed
        }
        let table = try await global.withDatabase(logger: logger) { database in
            if let length {
                // Without --since: the last week, or two periods when they are longer, so that at
                // least one whole period ends before now.
                let lookback = max(7 * 86_400, 2 * length.seconds)
                return try await rolledUp(database, since: start == .distantPast ? Date().addingTimeInterval(-lookback) : start, length: length)
            }
            return try await query(database, since: start)
        }
        switch format {
        case .table: print(table.rows.isEmpty ? "no \(kind.rawValue) metrics for \(model)\(since.map { " since \($0)" } ?? "")" : table.rendered, terminator: table.rows.isEmpty ? "\n" : "")
        case .csv: print(table.csv, terminator: "")
        case .json:
            let objects = table.rows.map { row in
                Dictionary(uniqueKeysWithValues: zip(table.header, row).map { ($0, $1) })
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(objects), as: UTF8.self))
        }
    }

    func sinceDate() throws -> Date {
        try since.map { try SinceOption.date($0) } ?? .distantPast
    }

    func query(_ database: Database, since: Date) async throws -> TextTable {
        let listing = try await MetricsStore(database: database).listing(
            kind, model: model, since: since, slices: slices, driftedOnly: drifted, estimated: estimated, limit: limit
        )
        var table = TextTable(listing.columns)
        let formatter = ISO8601DateFormatter()
        for row in listing.rows {
            table.append([formatter.string(from: row.windowStart)] + row.cells.map { text in Double(text).map { Self.number($0, text) } ?? text })
        }
        return table
    }

    /// Drift of longer windows merged from the stored profiles of the model's monitoring workflow.
    func rolledUp(_ database: Database, since: Date, length: WorkflowDuration) async throws -> TextTable {
        guard let workflow = try await WorkflowStore(database: database).monitoringWorkflow(forModel: model) else {
            throw CommandFailure("no applied workflow monitors model '\(model)' (one with `model: \(model)` and `data`)")
        }
        let monitor = try WindowMonitor(workflow: workflow, database: database, logger: database.logger)
        let windows = try await monitor.rollUp(from: since, to: Date(), length: length.seconds)
        var table = TextTable(["window_start", "window_end", "windows", "feature", "role", "method", "score", "threshold", "p_value", "drifted", "reference", "ref_rows", "rows"])
        let formatter = ISO8601DateFormatter()
        for window in windows.reversed() {
            for metric in window.drift.sorted(by: { $0.driftScore > $1.driftScore }) where !drifted || metric.drifted {
                table.append([
                    formatter.string(from: window.start), formatter.string(from: window.end), String(window.windows), metric.featureName, metric.columnRole,
                    metric.method, String(format: "%.4g", metric.driftScore), String(format: "%.4g", metric.driftThreshold),
                    metric.pValue.map { String(format: "%.4g", $0) } ?? "", String(metric.drifted), metric.reference,
                    String(metric.referenceCount), String(metric.currentCount),
                ])
            }
        }
        return table
    }

    /// Numbers shown with at most 4 significant decimals in the table; counts as they are.
    static func number(_ value: Double, _ text: String) -> String {
        text.contains(".") || text.contains("e") ? String(format: "%.4g", value) : text
    }
}
