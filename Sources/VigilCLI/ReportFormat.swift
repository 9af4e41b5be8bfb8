import ArgumentParser
import Foundation
import VigilWorkflow

/// How a command prints its result.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

/// Lays rows out in aligned columns for the terminal.
struct TextTable {
    let header: [String]
    var rows: [[String]] = []

    init(_ header: [String]) {
        self.header = header
    }

    mutating func append(_ row: [String]) {
        rows.append(row)
    }

    var rendered: String {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        return ([header] + rows).map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    /// RFC 4180 CSV, quoting cells that need it.
    var csv: String {
        ([header] + rows).map { row in
            row.map { cell in
                cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                    ? "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : cell
            }.joined(separator: ",")
        }.joined(separator: "\n") + "\n"
    }
}

/// JSON as commands print it: sorted keys, unescaped slashes, ISO 8601 dates.
enum JSONOutput {
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// An option that takes an RFC 3339 time (`--until`, `--end`, `--onset`), named in its error.
enum TimeOption {
    static func date(_ text: String, option: String) throws -> Date {
        guard let seconds = Timestamp.parse(text) else { throw ValidationError("\(option) takes an RFC 3339 time such as 2026-11-24T06:00:00Z (got '\(text)')") }
        return Date(timeIntervalSince1970: seconds)
    }
}

/// The `--since` options: an RFC 3339 time, or a duration back from `now`.
enum SinceOption {
    static func date(_ text: String, now: Date = Date()) throws -> Date {
        if text.contains("-"), let seconds = Timestamp.parse(text) { return Date(timeIntervalSince1970: seconds) }
        if let duration = WorkflowDuration(text) { return now.addingTimeInterval(-duration.seconds) }
        throw ValidationError("--since takes an ISO 8601 time (2026-11-24T00:00:00Z) or a duration (24h, 7d)")
    }
}
