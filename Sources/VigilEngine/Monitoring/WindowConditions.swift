import VigilStore
import VigilWorkflow

/// A window's metrics as an `evaluate` rule's `when` reads them.
///
/// Each metric is a name (`f1`, `estimated_f1`, `latency_p95`) whose value compares as a number
/// and whose fields are `value`, `lower` and `upper` (its band), `rows`, `labelled_rows`,
/// `baseline` (the reference's value) and `drop` (how much worse than the reference, positive when
/// worse, whichever way the metric improves). `reference.<metric>` is the reference's realised
/// value with a band at the window's size: three of the window's sampling errors (its estimate's,
/// else its own) either side. A metric measured on fewer than `minimumSamples` rows (labelled rows
/// for a realised quality metric) is left out, so it reads as null and a comparison with it is false.
struct WindowConditions {
    let values: [String: JSONValue]

    init(_ window: WindowReport, minimumSamples: Int) {
        var values: [String: JSONValue] = [:]
        var reference: [String: JSONValue] = [:]
        for (name, metric) in window.metrics {
            let comparison = RuleSet.MetricComparison(metric: name, by: 0)
            if comparison.samples(of: metric) >= minimumSamples {
                var fields: [String: JSONValue] = [
                    "value": .number(metric.value), "rows": .number(Double(metric.rowCount)), "labelled_rows": .number(Double(metric.labelledRows)),
                ]
                fields["lower"] = metric.lower.map(JSONValue.number)
                fields["upper"] = metric.upper.map(JSONValue.number)
                if let baseline = metric.baselineValue {
                    fields["baseline"] = .number(baseline)
                    fields["drop"] = .number(comparison.higherIsWorse ? metric.value - baseline : baseline - metric.value)
                }
                values[name] = .object(fields)
            }
            let realised = metric.estimated ? metric.metric : name
            guard let baseline = metric.baselineValue, reference[realised] == nil || metric.estimated else { continue }
            var fields: [String: JSONValue] = ["value": .number(baseline)]
            if let error = metric.standardError {
                fields["lower"] = .number(baseline - 3 * error)
                fields["upper"] = .number(baseline + 3 * error)
            }
            reference[realised] = .object(fields)
        }
        values["reference"] = .object(reference)
        self.values = values
    }

    /// The metrics `expression` reads, with their values and bands, for an alert's reason.
    func describe(_ expression: VigilWorkflow.Expression) -> String {
        var seen: [String] = []
        for path in expression.paths {
            let name = path.root == "reference" ? path.names.first.map { "reference." + $0 } : path.root
            if let name, !seen.contains(name) { seen.append(name) }
        }
        return seen.map { name in
            let metric = name.hasPrefix("reference.") ? values["reference"]?[String(name.dropFirst("reference.".count))] : values[name]
            guard let metric, let value = metric["value"]?.numberValue else { return "\(name) not measured" }
            var text = "\(name) \(RuleSet.format(value))"
            if let lower = metric["lower"]?.numberValue, let upper = metric["upper"]?.numberValue {
                text += " [\(RuleSet.format(lower)), \(RuleSet.format(upper))]"
            }
            if let rows = metric["labelled_rows"]?.numberValue, rows > 0 {
                text += " on \(Int(rows)) labels"
            } else if let rows = metric["rows"]?.numberValue {
                text += " on \(Int(rows)) rows"
            }
            return text
        }.joined(separator: "; ")
    }
}
