import Foundation
import Testing
import VigilEngine
import VigilStore
import VigilTesting

@Suite("vigil report's figures for a model with no known drift episode")
struct ModelReportTests {
    @Test("incidents are the hard alerts not marked false positives; precision comes from the marks; a promotion by hand is not automated")
    func fromAlertsAndMarks() async throws {
        try await TestDatabase.withFresh { database in
            let start = Date(timeIntervalSince1970: 1_780_272_000)
            func at(_ hours: Double) -> Date { start.addingTimeInterval(hours * 3_600) }
            let registry = ModelRegistry(database: database)
            for version in 1...2 {
                try await registry.register(
                    NewModelVersion(artifactURI: "s3://models/fraud/\(version)", framework: "xgboost"), of: "fraud",
                    alias: version == 1 ? "champion" : "challenger", actor: "alice", reason: "trained offline", now: at(Double(version) - 2)
                )
            }
            let alerts = AlertStore(database: database)
            let real = try await alerts.raise(AlertFinding(model: "fraud", rule: "fraud-drift", subject: "amount", severity: .soft),
                                              idempotencyKey: nil, runID: nil, actor: "monitor", now: at(1)).alert
            _ = try await alerts.raise(AlertFinding(model: "fraud", rule: "fraud-drift", subject: "amount", severity: .hard),
                                       idempotencyKey: nil, runID: nil, actor: "monitor", now: at(2))
            let noise = try await alerts.raise(AlertFinding(model: "fraud", rule: "fraud-drift", subject: "merchant", severity: .hard),
                                               idempotencyKey: nil, runID: nil, actor: "monitor", now: at(10)).alert
            _ = try await alerts.markFalsePositive(noise.id, actor: "bob", reason: "a holiday, not drift", now: at(11))
            let promotion = try await registry.startPromotion(2, of: "fraud", runID: nil, actor: "alice", now: at(4))
            try await registry.completePromotion(promotion, actor: "alice", reason: "checked by hand", now: at(5))

            let report = try await ModelReport.build(model: "fraud", from: .distantPast, to: at(24), database: database)
            let figures = report.figures
            #expect(figures.alertTruth == "false-positive marks")
            #expect(figures.alerts == 2 && figures.hardAlerts == 2 && figures.falsePositives == 1)
            #expect(figures.alertPrecision == 0.5 && figures.alertRecall == nil)
            #expect(figures.incidents == 1 && figures.onsetToFirstAlert == nil)
            let incident = try #require(report.incidents.first)
            #expect(incident.firstAlert == at(1) && incident.firstAlertID == real.id && incident.hardAlert == at(2))
            #expect(incident.promotion == at(5) && incident.promotedVersion == 2 && !incident.automated)
            // No labelled traffic: quality cannot be told, so nothing counts as recovered.
            #expect(incident.qualityBefore == nil && !incident.recovered && figures.meanTimeToRecover == nil && figures.automatedMitigation == 0)
            #expect(figures.uptime == nil && figures.slaAdherence == nil)
            let kinds = report.timeline.map(\.kind)
            #expect(kinds.contains(.alertEscalated) && kinds.contains(.alertFalsePositive) && kinds.contains(.promoted))
            // No recorded onset: lead time, onset → first alert and recall say so instead of a figure.
            let noOnsets = "not measured: no recorded drift onsets (`vigil incidents record`)"
            for name in ["lead time", "drift onset", "alert recall"] {
                #expect(report.figureRows.first { $0.0.hasPrefix(name) }?.1 == noOnsets, "\(name)")
            }
            #expect(report.provenanceLines.first?.hasPrefix("No drift onset is recorded for this period") == true)
            #expect(ModelReport.duration(-3_600) == "-1h" && ModelReport.duration(52_200) == "14h 30m" && ModelReport.duration(0) == "0s")
        }
    }

    @Test("an onset a person recorded: lead time is measured from it (first alert → first label of a prediction made since), the report says what it rests on, and names the windows back-filled from history")
    func fromRecordedOnsets() async throws {
        try await TestDatabase.withFresh { database in
            let start = Date(timeIntervalSince1970: 1_780_272_000)
            func at(_ hours: Double) -> Date { start.addingTimeInterval(hours * 3_600) }
            try await ModelRegistry(database: database).register(
                NewModelVersion(artifactURI: "s3://models/fraud/1", framework: "xgboost"), of: "fraud", alias: "champion", actor: "alice", reason: "trained", now: at(-2)
            )
            let alerts = AlertStore(database: database)
            _ = try await alerts.raise(AlertFinding(model: "fraud", rule: "fraud-drift", subject: "amount", severity: .hard),
                                       idempotencyKey: nil, runID: nil, actor: "monitor", now: at(3))
            // Predictions before and after the onset; the first label of one made since the onset comes at hour 51.
            let log = ServingLog(database: database)
            try await log.append([
                .init(requestID: "before", ts: at(0), version: 1, role: "champion", features: [:], prediction: "0", score: 0.1, latency: 5, error: false),
                .init(requestID: "after", ts: at(2), version: 1, role: "champion", features: [:], prediction: "1", score: 0.9, latency: 5, error: false),
            ], model: "fraud")
            try await log.label([("before", "0", at(1)), ("after", "1", at(51))], model: "fraud")

            let without = try await ModelReport.build(model: "fraud", from: .distantPast, to: at(100), database: database)
            #expect(without.figures.leadTime == nil && without.figures.onsets == 0)

            let episode = DriftEpisode(model: "fraud", kind: .data, startedAt: at(1.5), source: "carol", note: "upstream changed the amount's currency")
            #expect(episode.problem == nil)
            #expect(DriftEpisode(model: "fraud", kind: .data, startedAt: at(2), endedAt: at(1), source: "carol").problem == "the end must come after the onset")
            let id = try await DriftEpisodes(database: database).record(episode, actor: "carol", now: at(60))
            #expect(try await DriftEpisodes(database: database).record(episode, actor: "carol", now: at(61)) == id)

            // Two hourly windows: one computed as it ended, one back-filled two days later.
            for (hour, computed) in [(0.0, 1.0), (1.0, 50.0)] {
                let metrics = WindowMetrics(signature: WindowSignature(start: at(hour), end: at(hour + 1), rows: 1, labelled: 0, lastLabelAt: nil, quarantined: 0),
                                            workflow: "watch", sampleRate: 1)
                try await MetricsStore(database: database).record(metrics, model: "fraud", runID: nil, now: at(computed))
            }

            let report = try await ModelReport.build(model: "fraud", from: .distantPast, to: at(100), database: database)
            #expect(report.figures.onsets == 1 && report.figures.onsetsRecordedByPeople == 1)
            #expect(report.figures.onsetToFirstAlert == 1.5 * 3_600)
            #expect(abs((report.figures.leadTime ?? 0) - 48 * 3_600) < 0.01, "\(report.figures.leadTime ?? -1)")
            #expect(report.figureRows.first { $0.0.hasPrefix("lead time") }?.1 == "2d")
            #expect(report.figures.alertRecall == 1 && report.figures.alertTruth == "known drift episodes")
            #expect(report.provenanceLines.first == "Lead time, onset → first alert, precision and recall rest on 1 known drift onset (1 recorded by people).")
            #expect(report.figures.backfilledWindows == 1 && report.backfilled.map(\.start) == [at(1)])
            #expect(report.provenanceLines.contains("1 window was back-filled from history, not detected live; alerts from them were raised after the fact:"))
        }
    }
}
