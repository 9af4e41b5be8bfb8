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
            #expect(report.figureRows.first { $0.0.hasPrefix("alert recall") }?.1 == "n/a")
            #expect(ModelReport.duration(-3_600) == "-1h" && ModelReport.duration(52_200) == "14h 30m" && ModelReport.duration(0) == "0s")
        }
    }
}
