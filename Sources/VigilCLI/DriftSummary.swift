import Foundation
import VigilStatistics

/// What `vigil drift` reports: every column's decision and the dataset's, in the chosen format.
struct DriftSummary: Encodable {
    let reference: String
    let current: String
    let referenceRows: Int
    let currentRows: Int
    let report: DatasetDrift
    let schemaChange: SchemaChange

    func rendered(as format: ReportFormat) throws -> String {
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
        case .csv:
            return table.csv
        case .table:
            var text = "reference \(reference) (\(referenceRows) rows), current \(current) (\(currentRows) rows)\n\n"
            text += table.rendered + "\n"
            if !schemaChange.added.isEmpty { text += "columns only in current: \(schemaChange.added.joined(separator: ", "))\n" }
            if !schemaChange.removed.isEmpty { text += "columns only in reference: \(schemaChange.removed.joined(separator: ", "))\n" }
            let compared = report.columns.filter { $0.result != nil }
            text += "dataset: \(report.drifted ? "DRIFT" : "no drift") — \(compared.filter(\.drifted).count) of \(compared.count) columns drifted "
            text += "(share \(Self.number(report.driftedShare)), threshold \(Self.number(report.shareThreshold)); p-values adjusted by \(report.correction.rawValue))\n"
            return text
        }
    }

    private var table: TextTable {
        var table = TextTable(["column", "kind", "method", "score", "threshold", "p_value", "adjusted_p", "drift", "reference_n", "current_n", "note"])
        for column in report.columns {
            guard let result = column.result else {
                table.append([column.column, column.kind.rawValue, "", "", "", "", "", "error", "", "", column.error ?? ""])
                continue
            }
            var notes: [String] = []
            if !result.unseenCategories.isEmpty { notes.append("unseen: \(result.unseenCategories.prefix(5).joined(separator: " "))") }
            if result.currentMissing > 0 { notes.append("\(result.currentMissing) missing") }
            if column.kind == .embedding, let dimension = result.parameters["dimension"] {
                let sizes = [result.parameters["reference_sample"], result.parameters["current_sample"]].map { $0.map { String(Int($0)) } ?? "?" }
                notes.append("dimension \(Int(dimension)); \(sizes[0]) and \(sizes[1]) rows compared, seed \(Int(result.parameters["seed"] ?? 0))")
                if let cosine = result.parameters["cosine"], let p = result.parameters["cosine_p_value"] {
                    notes.append("cosine distance \(Self.number(cosine)) p=\(Self.number(p))")
                }
            }
            if let confirmation = column.confirmation, let p = confirmation.pValue {
                notes.append("\(confirmation.method.rawValue) p=\(Self.number(p)) \(column.drifted ? "confirms" : "does not confirm")")
            }
            table.append([
                column.column, column.kind.rawValue, result.method.rawValue, Self.number(result.score), Self.number(result.threshold),
                result.pValue.map(Self.number) ?? "", column.adjustedPValue.map(Self.number) ?? "",
                column.drifted ? "yes" : "no", String(result.referenceCount), String(result.currentCount), notes.joined(separator: "; "),
            ])
        }
        return table
    }

    static func number(_ value: Double) -> String {
        if value == 0 || (abs(value) >= 1e-4 && abs(value) < 1e6) {
            return String(format: "%.6g", value)
        }
        return String(format: "%.4e", value)
    }
}
