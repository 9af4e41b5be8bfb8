import Foundation
import VigilEngine
import VigilStore

/// A ``ModelReport`` as one self-contained HTML page (inline SVG, no scripts, no requests): the
/// figures, drift scores per feature and quality over time with drift onsets, alerts, retrains,
/// canary stages and promotions marked, the incidents and the timeline. `vigil report --format
/// html` and `vigil demo` write it; `/ui/models/NAME/report` serves it.
public enum ReportPage {
    /// The page on its own, for a file.
    public static func html(_ report: ModelReport) -> String {
        HTML.page(title: "Report: \(report.model)", principal: nil, body: body(report), standalone: true)
    }

    /// The page's content, for a frame.
    static func body(_ report: ModelReport) -> String {
        let marks = report.timeline.compactMap(mark)
        var drift: [String: [(Date, Double)]] = [:]
        var quality: [(Date, Double)] = [], estimated: [(Date, Double)] = []
        for window in report.windows {
            for (feature, score) in window.drift { drift[feature, default: []].append((window.end, score)) }
            if let value = window.quality, window.labelled > 0 { quality.append((window.end, value)) }
            if let value = window.estimated { estimated.append((window.end, value)) }
        }
        let driftChart = SVGChart(
            title: "Drift score per feature", series: drift.keys.sorted().map { SVGChart.Series(name: $0, points: drift[$0]!) }, marks: marks, height: 300
        )
        let qualityChart = SVGChart(
            title: estimated.isEmpty ? "\(report.metric) over time (labelled windows)" : "\(report.metric) over time: realised (labelled windows) and estimated from scores",
            series: [SVGChart.Series(name: report.metric, points: quality)] + (estimated.isEmpty ? [] : [SVGChart.Series(name: "estimated", points: estimated)]),
            marks: marks, height: 300
        )
        let period = "\(ModelReport.stamp(report.from == .distantPast ? (report.windows.first?.start ?? report.to) : report.from)) – \(ModelReport.stamp(report.to)) UTC"
        return [
            "<p class=\"muted\">Model <strong>\(HTML.escape(report.model))</strong>, \(HTML.escape(period)). Every figure is read from Vigil's records; see docs/report.md for how each is measured.</p>",
            "<h2>Figures</h2>",
            HTML.table(["figure", "value"], report.figureRows.map { [HTML.escape($0.0), HTML.escape($0.1)] }, id: "figures"),
            "<div id=\"provenance\">" + report.provenanceLines.map { "<p class=\"muted\">\(HTML.escape($0))</p>" }.joined() + "</div>",
            "<h2>Drift and quality</h2>",
            "<figure id=\"drift-chart\">\(driftChart.svg)</figure>",
            "<figure id=\"quality-chart\">\(qualityChart.svg)</figure>",
            report.reliability.isEmpty ? "" : "<figure id=\"reliability-chart\">\(ReliabilityChart(title: "Reliability: observed share of positives against predicted probability", curves: report.reliability.map { ReliabilityChart.Curve(name: $0.name, bins: $0.bins) }).svg)</figure>",
            "<h2>Incidents</h2>",
            report.incidentLines.isEmpty ? "<p class=\"muted\">No drift incident in this period.</p>"
                : "<ul id=\"incidents\">" + report.incidentLines.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>",
            "<h2>What drove the drift</h2>",
            report.driverLines.isEmpty ? "<p class=\"muted\">No window drifted in this period.</p>"
                : "<ul id=\"drivers\">" + report.driverLines.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>",
            "<h2>Timeline</h2>",
            HTML.table(["time (UTC)", "what", "event"], report.timeline.map {
                [HTML.escape(ModelReport.stamp($0.at)), HTML.escape($0.kind.rawValue.replacingOccurrences(of: "_", with: " ")), HTML.escape($0.summary)]
            }, id: "timeline"),
        ].joined(separator: "\n")
    }

    /// The chart mark of a timeline event, for the events worth marking.
    static func mark(_ event: TimelineEvent) -> SVGChart.Mark? {
        let version = event.subject.split(separator: "@").last.map { "v\($0)" } ?? ""
        let label: String? = switch event.kind {
        case .driftOnset: "drift onset"
        case .alertRaised: event.summary.hasPrefix("hard") ? "hard alert" : "soft alert"
        case .alertEscalated: "hard alert"
        case .registered: "retrained \(version)"
        case .canary: event.summary.split(separator: " ").last.map { "canary \($0)" }
        case .promoted: "promoted \(version)"
        case .rolledBack: "rolled back \(version)"
        case .detection: event.summary.split(separator: ":").first.map { "\($0) change" }
        case .driftEnded, .alertResolved, .alertFalsePositive, .runStarted, .runFinished, .shadowResult: nil
        }
        return label.map { SVGChart.Mark(at: event.at, label: $0) }
    }
}
