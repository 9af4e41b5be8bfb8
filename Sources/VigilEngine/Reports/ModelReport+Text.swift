import Foundation

extension ModelReport {
    /// A duration as people read it: `3h`, `2h 30m`, `45s`, `-1h` (negative: before).
    public static func duration(_ seconds: TimeInterval) -> String {
        let sign = seconds < 0 ? "-" : ""
        var rest = Int(abs(seconds).rounded())
        let days = rest / 86_400
        rest %= 86_400
        let parts = [(days, "d"), (rest / 3_600, "h"), (rest % 3_600 / 60, "m"), (rest % 60, "s")].filter { $0.0 > 0 }.prefix(2)
        return parts.isEmpty ? "0s" : sign + parts.map { "\($0.0)\($0.1)" }.joined(separator: " ")
    }

    /// The headline figures as `(name, value)` rows, `n/a` where history cannot tell.
    public var figureRows: [(String, String)] {
        func share(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "n/a" }
        func time(_ value: TimeInterval?) -> String { value.map(Self.duration) ?? "n/a" }
        let truth = figures.alertTruth
        let noOnsets = "not measured: no recorded drift onsets (`vigil incidents record`)"
        func fromOnsets(_ value: TimeInterval?) -> String { figures.onsets == 0 ? noOnsets : time(value) }
        return [
            ("drift incidents", "\(figures.incidents)"),
            ("drift onset → first alert", fromOnsets(figures.onsetToFirstAlert)),
            ("first alert → measurable quality loss", time(figures.firstAlertToQualityLoss)),
            ("lead time (first alert → first label of the drifted period)", fromOnsets(figures.leadTime)),
            ("incidents mitigated automatically", share(figures.automatedMitigation)),
            ("mean time to recover (hard alert → promotion that restored quality)", time(figures.meanTimeToRecover)),
            ("alerts (hard)", "\(figures.alerts) (\(figures.hardAlerts))"),
            ("alert precision (\(truth))", share(figures.alertPrecision)),
            ("alert recall (\(truth))", figures.onsets == 0 ? noOnsets : share(figures.alertRecall)),
            ("canary rollbacks", "\(figures.canaryRollbacks)"),
            ("uptime (requests served without error)", share(figures.uptime)),
            ("SLA adherence (windows within error rate and latency objectives)", share(figures.slaAdherence)),
        ]
    }

    /// What the figures rest on: the known onsets and who recorded them, and which windows were
    /// back-filled from history rather than computed live.
    public var provenanceLines: [String] {
        var lines: [String] = []
        if figures.onsets == 0 {
            lines.append("No drift onset is recorded for this period: lead time, onset → first alert and recall are not measured, "
                + "and precision rests on operators' false-positive marks. Record known onsets with `vigil incidents record`.")
        } else {
            let simulated = figures.onsets - figures.onsetsRecordedByPeople
            let sources = [figures.onsetsRecordedByPeople > 0 ? "\(figures.onsetsRecordedByPeople) recorded by people" : nil,
                           simulated > 0 ? "\(simulated) from the simulator's ground truth" : nil].compactMap { $0 }
            lines.append("Lead time, onset → first alert, precision and recall rest on \(figures.onsets) known drift onset\(figures.onsets == 1 ? "" : "s") (\(sources.joined(separator: ", "))).")
        }
        if backfilled.isEmpty {
            lines.append("Every window was computed live, as its data arrived.")
        } else {
            lines.append("\(figures.backfilledWindows) window\(figures.backfilledWindows == 1 ? " was" : "s were") back-filled from history, not detected live; alerts from them were raised after the fact:")
            lines += backfilled.map { "  \(Self.stamp($0.start)) – \(Self.stamp($0.end)) (\($0.windows) window\($0.windows == 1 ? "" : "s"))" }
        }
        return lines
    }

    /// Each incident in a line.
    public var incidentLines: [String] {
        incidents.map { incident in
            var parts: [String] = []
            if let onset = incident.onset { parts.append("\(incident.kind ?? "drift") from \(Self.stamp(onset))") }
            if let alert = incident.firstAlert { parts.append("first alert \(Self.stamp(alert))") }
            if let hard = incident.hardAlert { parts.append("hard \(Self.stamp(hard))") }
            if let label = incident.firstLabel {
                let lead = incident.firstAlert.map { " (\(Self.duration(label.timeIntervalSince($0))) after the first alert)" } ?? ""
                parts.append("first label of the drifted period \(Self.stamp(label))\(lead)")
            }
            if let promotion = incident.promotion {
                parts.append("\(incident.automated ? "promoted by a workflow" : "promoted by hand") v\(incident.promotedVersion.map(String.init) ?? "?") \(Self.stamp(promotion))")
            } else {
                parts.append("no promotion")
            }
            if incident.rollbacks > 0 { parts.append("\(incident.rollbacks) canary rollback\(incident.rollbacks == 1 ? "" : "s")") }
            let quality = [incident.qualityBefore, incident.qualityAfter].map { $0.map { String(format: "%.3f", $0) } ?? "n/a" }
            parts.append("\(metric) \(quality[0]) before → \(quality[1]) after" + (incident.recovered ? " (recovered)" : ""))
            return parts.joined(separator: "; ")
        }
    }

    /// Each window in which drift was found, newest first, in a line: what flagged it and its top
    /// three drivers with their shares.
    public var driverLines: [String] {
        drivenWindows.map { window in
            let found = window.drifted.prefix(5).joined(separator: ", ") + (window.drifted.count > 5 ? ", …" : "")
            let flagged = [found.isEmpty ? nil : "drifted \(found)", window.multivariate.isEmpty ? nil : "multivariate: \(window.multivariate.joined(separator: ", "))"]
                .compactMap { $0 }.joined(separator: "; ")
            let drivers = window.drivers.map { "\($0.feature) \(String(format: "%.2f", $0.share))" }.joined(separator: ", ")
            return "\(Self.stamp(window.start)): \(flagged); top drivers: \(drivers.isEmpty ? "n/a" : drivers)"
        }
    }

    /// A time in the report's lines: ISO 8601 to the minute, UTC.
    public static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: date)
    }
}
