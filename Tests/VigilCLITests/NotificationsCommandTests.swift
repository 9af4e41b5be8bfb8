import Foundation
import Testing
import VigilStore
import VigilTesting

@Suite("vigil notifications")
struct NotificationsCommandTests {
    @Test("a dead letter is listed with the receiver's answer; retry requeues it, audited; bad options are usage errors")
    func deadLetters() async throws {
        try await TestDatabase.withFresh { database in
            func vigil(_ arguments: String...) async throws -> VigilProcess.Output { try await VigilProcess.run(arguments, on: database) }
            let alert = try await AlertStore(database: database).raise(
                AlertFinding(model: "churn", rule: "churn-drift", severity: .hard, channels: ["pagerduty"]), idempotencyKey: nil, runID: nil, actor: "t", now: Date()
            ).alert
            // A receiver's refusal, as the notifier records it.
            let outbox = NotificationOutbox(database: database)
            let claim = try #require(try await outbox.claim(alertID: alert.id, owner: "t", lease: 30, now: Date()).first)
            try await outbox.finish(claim.notification, .decided(.dead(reason: "refused (400, not retried): pagerduty answered 400: invalid routing key")),
                                    attempts: 1, status: 400, actor: "t", now: Date())

            let dead = try await vigil("notifications", "list", "--state", "dead")
            #expect(dead.status == 0, "\(dead.standardError)")
            #expect(dead.standardOutput.contains("pagerduty") && dead.standardOutput.contains("invalid routing key") && dead.standardOutput.contains("400"))
            let json = try await vigil("notifications", "list", "--state", "dead", "--format", "json")
            let rows = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]] ?? []
            #expect(rows.count == 1 && rows.first?["last_status"] as? Int == 400 && rows.first?["alert"] as? Int == alert.id)
            #expect(try await vigil("notifications", "list", "--state", "pending").standardOutput.contains("pagerduty") == false)

            let retry = try await vigil("notifications", "retry", String(claim.notification.id), "--reason", "new routing key", "--as", "alice")
            #expect(retry.status == 0 && retry.standardOutput.hasPrefix("requeued 1 notification"), "\(retry.standardError)")
            // This process has no pagerduty channel: it leaves the notification for `vigil serve`.
            #expect(try await outbox.list(state: .pending).map(\.id) == [claim.notification.id])
            let audit = try await AuditLog(database: database).list(actor: "alice")
            #expect(audit.contains { $0.action == "notification.retried" && $0.reason == "new routing key" && $0.subject == "notification:\(claim.notification.id)" })

            let notDead = try await vigil("notifications", "retry", String(claim.notification.id))
            #expect(notDead.status == 1 && notDead.standardError.contains("is pending; only a dead notification is retried"), "\(notDead.standardError)")
            let both = try await vigil("notifications", "retry", "1", "--channel", "pagerduty")
            #expect(both.status == 2 && both.standardError.contains("give a notification id or --channel, not both"))
            let badState = try await vigil("notifications", "list", "--state", "lost")
            #expect(badState.status == 2 && badState.standardError.contains("unknown state 'lost'"))
        }
    }
}
