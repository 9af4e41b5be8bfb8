import ArgumentParser
import Foundation
import VigilEngine
import VigilStore

/// `vigil monitor`: monitoring passes by hand, such as computing months of existing logs.
struct MonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Compute monitoring windows by hand.",
        subcommands: [Backfill.self]
    )

    struct Backfill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute every closed window of a monitoring workflow's model in a time range, oldest first; running it again computes nothing new.",
            discussion: "A team starting with months of logs back-fills their history once; `serve` then keeps up with new windows (its passes look back `lookback`, 7 days by default)."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The monitoring workflow (one with `model`, `data` and a `monitor` step).") var workflow: String
        @Option(help: "From this time (RFC 3339) or this long ago (such as 90d).") var since: String
        @Option(help: "Up to this time or this long ago (default: now).") var until: String?

        func run() async throws {
            let now = Date()
            let from = try SinceOption.date(since, now: now)
            let to = try until.map { try SinceOption.date($0, now: now) } ?? now
            guard from < to else { throw ValidationError("--since must be before --until") }
            let logger = global.makeLogger()
            let summary = try await global.withDatabase(logger: logger) { database in
                let version: WorkflowVersion
                do { version = try await WorkflowStore(database: database).version(of: workflow) } catch let error as StoreError { throw CommandFailure(error.message) }
                let monitor: WindowMonitor
                do { monitor = try WindowMonitor(workflow: version, database: database, logger: logger) } catch let error as MonitorError { throw CommandFailure(error.description) }
                return try await monitor.backfill(since: from, until: to, now: now, runID: nil) { done, total in
                    Self.progress(done, total)
                }
            }
            if let reason = summary.idleReason {
                print("nothing to back-fill: \(reason)")
                return
            }
            let formatter = ISO8601DateFormatter()
            let first = summary.windows.first.map { formatter.string(from: $0.start) } ?? ""
            let last = summary.windows.last.map { formatter.string(from: $0.end) } ?? ""
            print("computed \(summary.windows.count) window\(summary.windows.count == 1 ? "" : "s") from \(first) to \(last)")
        }

        /// A progress bar on standard error, redrawn in place on a terminal and every tenth otherwise.
        static func progress(_ done: Int, _ total: Int) {
            let width = 30, filled = total == 0 ? width : done * width / total
            let line = "[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(done)/\(total) windows"
            if isatty(STDERR_FILENO) == 1 {
                FileHandle.standardError.write(Data(("\r" + line + (done == total ? "\n" : "")).utf8))
            } else if done == total || (done * 10 / max(1, total)) != ((done - 1) * 10 / max(1, total)) {
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
    }
}
