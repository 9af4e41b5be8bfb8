import Foundation
import VigilStatistics

/// Reliability curves as inline SVG: the mean predicted probability of each bin against its
/// share of positives, on the unit square, with the diagonal a calibrated model lies on. Each
/// point's size follows its bin's rows; its tooltip gives the numbers.
struct ReliabilityChart {
    struct Curve {
        let name: String
        let bins: [ProbabilisticMetrics.ReliabilityBin]
    }

    let title: String
    let curves: [Curve]
    var size = 300.0

    var svg: String {
        guard curves.contains(where: { !$0.bins.isEmpty }) else {
            return "<p class=\"muted\">\(HTML.escape(title)): no labelled window with probabilities yet</p>"
        }
        let left = 40.0, top = 24.0, side = size - 64, legend = left + side + 16
        func x(_ value: Double) -> String { String(format: "%.1f", left + side * value) }
        func y(_ value: Double) -> String { String(format: "%.1f", top + side * (1 - value)) }
        var parts = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(size + 200))\" height=\"\(Int(size))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">",
            "<title>\(HTML.escape(title))</title>",
            "<text x=\"\(left)\" y=\"16\" font-size=\"13\" font-weight=\"bold\">\(HTML.escape(title))</text>",
            "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(side)\" height=\"\(side)\" fill=\"none\" stroke=\"#8c959f\"/>",
            "<line x1=\"\(x(0))\" y1=\"\(y(0))\" x2=\"\(x(1))\" y2=\"\(y(1))\" stroke=\"#8c959f\" stroke-dasharray=\"4 3\"><title>calibrated</title></line>",
            "<text x=\"\(left)\" y=\"\(top + side + 14)\" font-size=\"10\">0</text>",
            "<text x=\"\(left + side)\" y=\"\(top + side + 14)\" font-size=\"10\" text-anchor=\"end\">mean predicted probability 1</text>",
            "<text x=\"4\" y=\"\(top + 10)\" font-size=\"10\">1</text>",
            "<text x=\"4\" y=\"\(top + side)\" font-size=\"10\">0</text>",
        ]
        for (index, curve) in curves.enumerated() {
            let color = SVGChart.colors[index % SVGChart.colors.count]
            let total = Double(max(1, curve.bins.map(\.count).reduce(0, +)))
            let path = curve.bins.map { "\(x($0.meanProbability)),\(y($0.observedRate))" }.joined(separator: " ")
            parts.append("<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(path)\"><title>\(HTML.escape(curve.name))</title></polyline>")
            for bin in curve.bins {
                let radius = String(format: "%.1f", 2 + 6 * (Double(bin.count) / total).squareRoot())
                let tip = String(format: "%.1f–%.1f: mean probability %.3f, observed %.3f, %d rows", bin.lower, bin.upper, bin.meanProbability, bin.observedRate, bin.count)
                parts.append("<circle cx=\"\(x(bin.meanProbability))\" cy=\"\(y(bin.observedRate))\" r=\"\(radius)\" fill=\"\(color)\"><title>\(HTML.escape(tip))</title></circle>")
            }
            parts.append("<text x=\"\(legend)\" y=\"\(top + 14 * Double(index + 1))\" font-size=\"11\" fill=\"\(color)\">\(HTML.escape(curve.name))</text>")
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }
}
