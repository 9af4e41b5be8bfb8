import Foundation

/// A line chart as inline SVG: one line per series over time, with marks (alerts, promotions)
/// as labelled vertical lines. Readable without JavaScript.
struct SVGChart {
    struct Series {
        let name: String
        let points: [(Date, Double)]
    }

    struct Mark {
        let at: Date
        let label: String
    }

    let title: String
    let series: [Series]
    var marks: [Mark] = []
    var width = 900.0
    var height = 260.0

    static let colors = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#57606a", "#e16f24", "#116329"]

    var svg: String {
        let points = series.flatMap(\.points)
        guard let first = points.map(\.0).min(), let last = points.map(\.0).max() else {
            return "<p class=\"muted\">\(HTML.escape(title)): no data yet</p>"
        }
        let low = min(0, points.map(\.1).min() ?? 0), high = max(points.map(\.1).max() ?? 1, low + 1e-9)
        let left = 50.0, right = width - 160, top = 24.0, bottom = height - 30
        let span = max(last.timeIntervalSince(first), 1)
        func x(_ date: Date) -> Double { left + (right - left) * date.timeIntervalSince(first) / span }
        func y(_ value: Double) -> Double { bottom - (bottom - top) * (value - low) / (high - low) }
        var parts = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">",
            "<title>\(HTML.escape(title))</title>",
            "<text x=\"\(left)\" y=\"16\" font-size=\"13\" font-weight=\"bold\">\(HTML.escape(title))</text>",
            "<line x1=\"\(left)\" y1=\"\(bottom)\" x2=\"\(right)\" y2=\"\(bottom)\" stroke=\"#8c959f\"/>",
            "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(bottom)\" stroke=\"#8c959f\"/>",
            "<text x=\"4\" y=\"\(y(high) + 4)\" font-size=\"10\">\(String(format: "%.3g", high))</text>",
            "<text x=\"4\" y=\"\(y(low) + 4)\" font-size=\"10\">\(String(format: "%.3g", low))</text>",
            "<text x=\"\(left)\" y=\"\(height - 8)\" font-size=\"10\">\(HTML.time(first))</text>",
            "<text x=\"\(right)\" y=\"\(height - 8)\" font-size=\"10\" text-anchor=\"end\">\(HTML.time(last))</text>",
        ]
        // Labels step down a line each, four deep, so marks close together stay readable.
        for (index, mark) in marks.filter({ $0.at >= first && $0.at <= last }).enumerated() {
            parts.append("<line x1=\"\(x(mark.at))\" y1=\"\(top)\" x2=\"\(x(mark.at))\" y2=\"\(bottom)\" stroke=\"#bf8700\" stroke-dasharray=\"4 3\"><title>\(HTML.escape(mark.label))</title></line>")
            parts.append("<text x=\"\(x(mark.at) + 2)\" y=\"\(top + 10 + Double(index % 4) * 11)\" font-size=\"9\" fill=\"#9a6700\">\(HTML.escape(mark.label))</text>")
        }
        for (index, line) in series.enumerated() {
            let color = Self.colors[index % Self.colors.count]
            let path = line.points.sorted { $0.0 < $1.0 }.map { "\(String(format: "%.1f", x($0.0))),\(String(format: "%.1f", y($0.1)))" }.joined(separator: " ")
            parts.append("<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(path)\"><title>\(HTML.escape(line.name))</title></polyline>")
            parts.append("<text x=\"\(right + 8)\" y=\"\(top + 14 * Double(index + 1))\" font-size=\"11\" fill=\"\(color)\">\(HTML.escape(line.name))</text>")
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }
}
