import Foundation
import VigilStore

extension ModelReport {
    /// Measures `model` over `[from, to]` from the records in `database`.
    public static func build(model: String, from: Date, to: Date, options: Options = Options(), database: Database) async throws -> ModelReport {
        let timeline = try await ModelTimeline(database: database).events(model: model, from: from, to: to)
        let episodes = try await DriftEpisodes(database: database).list(model: model, from: from, to: to)
        let alerts = try await AlertStore(database: database).list(model: model, since: from, limit: 100_000).filter { $0.firstSeen <= to }
        let changelog = try await ModelRegistry(database: database).changelog(of: model).filter { $0.at >= from && $0.at <= to }
        let stored = try await MetricsStore(database: database).recentWindows(model: model, count: 100_000, since: from).filter { $0.end <= to }
        let windows = stored.reversed().map { window in
            Window(
                start: window.start, end: window.end, requests: window.rows, quality: window.metrics[options.metric]?.value,
                estimated: window.metrics["estimated_" + options.metric]?.value,
                labelled: window.metrics[options.metric]?.labelledRows ?? 0,
                drift: Dictionary(window.drift.filter { $0.columnRole == "feature" }.map { ($0.featureName, $0.driftScore) }, uniquingKeysWith: max),
                errorRate: window.metrics["error_rate"]?.value, latencyP95: window.metrics["latency_p95"]?.value
            )
        }
        let quality = QualityReader(model: model, metric: options.metric, windows: Array(stored), data: ServingData(database: database))
        var report = ModelReport(model: model, from: from, to: to, metric: options.metric, figures: Figures(), incidents: [], timeline: timeline, windows: windows)
        let drift = alerts.filter { !$0.rule.hasSuffix("canary-rollback") }
        report.incidents = try await incidents(
            episodes: episodes, alerts: drift, changelog: changelog, stored: Array(stored), quality: quality, options: options, until: to
        )
        report.drivenWindows = stored.compactMap { window in
            let drifted = window.drift.filter { $0.columnRole == "feature" && $0.drifted }.sorted { $0.driftScore > $1.driftScore }.map(\.featureName)
            let multivariate = window.multivariate.filter(\.drifted).map(\.method)
            guard !drifted.isEmpty || !multivariate.isEmpty else { return nil }
            return DrivenWindow(start: window.start, end: window.end, drifted: drifted, multivariate: multivariate, drivers: Array(window.drivers.prefix(3)))
        }.prefix(drivenWindowLimit).map { $0 }
        let curves = try await MetricsStore(database: database).reliabilityCurves(model: model, from: from, to: to)
        if let first = curves.first, let last = curves.last {
            report.reliability = [ReliabilityCurve(name: "first labelled window, \(stamp(first.start))", windowStart: first.start, bins: first.bins)]
            if last.start != first.start {
                report.reliability.append(ReliabilityCurve(name: "latest labelled window, \(stamp(last.start))", windowStart: last.start, bins: last.bins))
            }
        }
        let serving = ServingData(database: database)
        for index in report.incidents.indices {
            guard let since = report.incidents[index].onset ?? report.incidents[index].firstAlert else { continue }
            report.incidents[index].firstLabel = try await serving.firstLabelKnown(model: model, predictedSince: since, until: to)
        }
        report.figures = figures(incidents: report.incidents, episodes: episodes, alerts: alerts, drift: drift, windows: windows, options: options)
        let backfilled = try await MetricsStore(database: database).backfilledWindows(model: model, from: from, to: to)
        report.figures.backfilledWindows = backfilled.count
        report.backfilled = backfilled.reduce(into: []) { spans, window in
            if let last = spans.last, window.start <= last.end {
                spans[spans.count - 1].end = max(last.end, window.end)
                spans[spans.count - 1].windows += 1
            } else {
                spans.append(BackfilledSpan(start: window.start, end: window.end, windows: 1))
            }
        }
        return report
    }

    /// When an alert meant hard: raised hard, or escalated.
    static func hardSince(_ alert: Alert) -> Date? {
        alert.severity == .hard ? (alert.escalatedAt ?? alert.firstSeen) : nil
    }

    private static func incidents(
        episodes: [DriftEpisode], alerts: [Alert], changelog: [ChangelogEntry], stored: [WindowReport], quality: QualityReader,
        options: Options, until: Date
    ) async throws -> [Incident] {
        // Known episodes, else the hard alerts that were not false positives.
        var scopes: [(start: Date, end: Date, onset: Date?, kind: String?)] = []
        if !episodes.isEmpty {
            for (index, episode) in episodes.enumerated() {
                let next = index + 1 < episodes.count ? episodes[index + 1].startedAt : until
                scopes.append((episode.startedAt, min(next, episode.endedAt.map { $0.addingTimeInterval(options.detectionHorizon) } ?? next), episode.startedAt, episode.kind.rawValue))
            }
        } else {
            let hard = alerts.filter { !$0.falsePositive && hardSince($0) != nil }.sorted { hardSince($0)! < hardSince($1)! }
            for (index, alert) in hard.enumerated() {
                let start = alerts.filter { $0.firstSeen <= hardSince(alert)! && $0.firstSeen >= hardSince(alert)!.addingTimeInterval(-options.detectionHorizon) }
                    .map(\.firstSeen).min() ?? alert.firstSeen
                let next = index + 1 < hard.count ? hardSince(hard[index + 1])! : until
                scopes.append((start, next, nil, nil))
            }
        }
        var incidents: [Incident] = []
        for scope in scopes {
            var incident = Incident(onset: scope.onset, kind: scope.kind)
            // An alert raised before the scope (a soft one from before the onset) counts from when it turned hard in it.
            let noticed = alerts.compactMap { alert -> (alert: Alert, at: Date)? in
                let at = [alert.firstSeen, hardSince(alert)].compactMap { $0 }.filter { $0 >= scope.start && $0 < scope.end }.min()
                return at.map { (alert, $0) }
            }.sorted { $0.at < $1.at }
            incident.firstAlert = noticed.first?.at
            incident.firstAlertID = noticed.first?.alert.id
            incident.hardAlert = noticed.compactMap { hardSince($0.alert) }.filter { $0 >= scope.start && $0 < scope.end }.min()
            let lossFrom = scope.onset ?? scope.start.addingTimeInterval(-options.detectionHorizon)
            incident.qualityLoss = stored.reversed().first { window in
                guard window.start >= lossFrom, window.start < scope.end, let metric = window.metrics[options.metric], metric.labelledRows > 0,
                      let baseline = metric.baselineValue else { return false }
                return quality.worsening(from: baseline, to: metric.value) >= options.qualityLoss
            }?.start
            if let hard = incident.hardAlert, let promoted = changelog.first(where: { $0.action == "promoted" && $0.at >= hard && $0.at < scope.end }) {
                incident.promotion = promoted.at
                incident.promotedVersion = promoted.version
                incident.automated = promoted.actor.hasPrefix("workflow:")
            }
            incident.rollbacks = changelog.filter { $0.action == "rolled_back" && $0.at >= scope.start && $0.at < scope.end }.count
            let before = scope.onset ?? incident.qualityLoss ?? incident.firstAlert ?? scope.start
            incident.qualityBefore = try await quality.value(from: before.addingTimeInterval(-options.qualityPeriod), to: before)
            if let promotion = incident.promotion {
                incident.qualityAfter = try await quality.value(from: promotion, to: min(promotion.addingTimeInterval(options.qualityPeriod), scope.end))
                if let before = incident.qualityBefore, let after = incident.qualityAfter {
                    incident.recovered = quality.worsening(from: before, to: after) <= options.recoveryTolerance
                }
            }
            incidents.append(incident)
        }
        return incidents
    }

    private static func figures(
        incidents: [Incident], episodes: [DriftEpisode], alerts: [Alert], drift: [Alert], windows: [Window], options: Options
    ) -> Figures {
        var figures = Figures()
        figures.incidents = incidents.count
        figures.onsetToFirstAlert = mean(incidents.compactMap { incident in incident.onset.flatMap { onset in incident.firstAlert.map { $0.timeIntervalSince(onset) } } })
        figures.firstAlertToQualityLoss = mean(incidents.compactMap { incident in incident.firstAlert.flatMap { alert in incident.qualityLoss.map { $0.timeIntervalSince(alert) } } })
        figures.onsets = episodes.count
        figures.onsetsRecordedByPeople = episodes.filter(\.isRecordedByPerson).count
        // Lead time needs a known onset: without one, an incident is only its alerts, and a lead
        // measured from them would rest on what it is meant to judge.
        if !episodes.isEmpty {
            figures.leadTime = mean(incidents.compactMap { incident in incident.firstAlert.flatMap { alert in incident.firstLabel.map { $0.timeIntervalSince(alert) } } })
        }
        if !incidents.isEmpty {
            figures.automatedMitigation = Double(incidents.filter { $0.automated && $0.recovered }.count) / Double(incidents.count)
        }
        figures.meanTimeToRecover = mean(incidents.filter(\.recovered).compactMap { incident in
            incident.hardAlert.flatMap { hard in incident.promotion.map { $0.timeIntervalSince(hard) } }
        })
        figures.alerts = drift.count
        figures.hardAlerts = drift.filter { $0.severity == .hard }.count
        figures.falsePositives = drift.filter(\.falsePositive).count
        figures.canaryRollbacks = alerts.count - drift.count
        if !episodes.isEmpty {
            figures.alertTruth = "known drift episodes"
            if !drift.isEmpty {
                let within = drift.filter { alert in episodes.contains { $0.covers(alert.firstSeen) } && !alert.falsePositive }
                figures.alertPrecision = Double(within.count) / Double(drift.count)
            }
            let detected = incidents.filter { incident in
                guard let onset = incident.onset, let alert = incident.firstAlert else { return false }
                return alert.timeIntervalSince(onset) <= options.detectionHorizon
            }
            figures.alertRecall = Double(detected.count) / Double(episodes.count)
        } else {
            figures.alertTruth = "false-positive marks"
            if !drift.isEmpty { figures.alertPrecision = Double(drift.count - figures.falsePositives) / Double(drift.count) }
        }
        let served = windows.filter { $0.errorRate != nil && $0.requests > 0 }
        figures.windows = served.count
        figures.requests = served.reduce(0) { $0 + $1.requests }
        figures.errors = Int(served.reduce(0.0) { $0 + $1.errorRate! * Double($1.requests) }.rounded())
        if figures.requests > 0 {
            figures.uptime = 1 - Double(figures.errors) / Double(figures.requests)
            let met = served.filter { $0.errorRate! <= options.maximumErrorRate && ($0.latencyP95 ?? 0) <= options.maximumLatencyP95 }
            figures.slaAdherence = Double(met.count) / Double(served.count)
        }
        return figures
    }

    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
}
