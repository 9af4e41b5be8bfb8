import Foundation
import Testing
import VigilEngine
import VigilStore
import VigilTesting
import VigilWorkflow

/// The e-mail channel against a real SMTP server (aiosmtpd) that requires STARTTLS and a login.
@Suite("E-mail channel")
struct EmailChannelTests {
    /// An e-mail channel to `server`, trusting its certificate.
    static func channel(_ server: MailServer, password: String = MailServer.password, recipients: [String] = ["risk@example.com", "mlops@example.com"]) -> (String, ChannelConfiguration) {
        var channel = ChannelConfiguration(name: "mail", kind: .email, url: "smtp://127.0.0.1:\(server.port)", secret: password, timeout: 10, attempts: 2, backoff: 0.05)
        channel.mail = MailSettings(host: "127.0.0.1", port: server.port, from: "vigil@example.com", recipients: recipients,
                                    username: MailServer.username, trustedCertificates: server.certificate)
        return ("mail", channel)
    }

    @Test("an alert's open, escalation to hard, acknowledgement and resolution reach the SMTP server over STARTTLS with a login as four mails, once each, in one thread, each with a plain-text and an HTML part")
    func lifecycle() async throws {
        try await MailServer.with { server in
            try await TestDatabase.withFresh { database in
                let channels = ChannelDirectory(channels: Dictionary(uniqueKeysWithValues: [Self.channel(server)]), publicURL: "https://vigil.example.com")
                try await EscalationFixtures.insertDriftedWindow(database)
                _ = try await EngineFixtures.apply(EscalationFixtures.watch(severity: "soft", channels: "{ soft: [mail], hard: [mail] }"), to: database)
                let (soft, softSteps) = try await EscalationFixtures.run("watch", in: database, channels: channels)
                #expect(soft.state == .succeeded, "\(softSteps["escalate"]?.error ?? "")")
                let alertID = try #require(softSteps["escalate"]?.outputs?["alert_id"]?.stringValue.flatMap { Int($0) })
                _ = try await EngineFixtures.apply(EscalationFixtures.watch(name: "watch-hard", channels: "{ soft: [mail], hard: [mail] }"), to: database)
                let (hard, hardSteps) = try await EscalationFixtures.run("watch-hard", in: database, channels: channels)
                #expect(hard.state == .succeeded, "\(hardSteps["escalate"]?.error ?? "")")
                let notifier = AlertNotifier(database: database, channels: channels, logger: EngineFixtures.logger)
                _ = try await AlertStore(database: database).acknowledge(alertID, actor: "alice", reason: "looking", now: Date())
                #expect(try await notifier.deliverPending(alertID: alertID).allSatisfy { $0.state == .delivered })
                _ = try await AlertStore(database: database).resolve(alertID, actor: "alice", reason: "fixed upstream", now: Date())
                #expect(try await notifier.deliverPending(alertID: alertID).allSatisfy { $0.state == .delivered })

                let mails = try server.messages()
                #expect(mails.map { $0["x-vigil-event"] ?? "" } == ["trigger", "escalate", "acknowledge", "resolve"])
                let sent = try await NotificationOutbox(database: database).notifications(ofAlert: alertID)
                #expect(sent.count == 4 && sent.allSatisfy { $0.state == .delivered && $0.lastStatus == 250 })
                for mail in mails {
                    #expect(mail["tls"] == "true" && mail["login"] == "vigil", "every mail over TLS after a login: \(mail)")
                    #expect(mail["mail_from"] == "vigil@example.com" && mail["rcpt_tos"] == "risk@example.com, mlops@example.com")
                    #expect(mail["from"] == "vigil@example.com" && mail["to"] == "risk@example.com, mlops@example.com")
                    #expect(mail["subject"] == "[Vigil] Alert \(alertID): churn-drift on model churn")
                    #expect(mail["content_type"] == "multipart/alternative" && mail["auto-submitted"] == "auto-generated")
                    #expect(mail["x-vigil-alert-id"] == String(alertID))
                    #expect(mail["plain"]?.contains("Alert: https://vigil.example.com/ui/alerts/\(alertID)") == true)
                    #expect(mail["html"]?.contains("<a href=\"https://vigil.example.com/ui/alerts/\(alertID)\">") == true)
                }
                // One thread: the first mail is its root, the others answer it.
                let root = "<vigil-alert-\(alertID)@example.com>"
                #expect(mails.first?["message-id"] == root && mails.first?["in-reply-to"] == nil)
                #expect(mails.dropFirst().allSatisfy { $0["in-reply-to"] == root && $0["references"] == root })
                #expect(Set(mails.compactMap { $0["message-id"] }).count == 4)

                let plain = mails.map { $0["plain"] ?? "" }
                #expect(plain[0].hasPrefix("Soft alert: churn-drift on model churn\n"), "\(plain[0])")
                #expect(plain[0].contains("Severity: soft") && plain[0].contains("  - tenure_months: 0.310"))
                #expect(plain[0].contains("  - drift share 0.67 ≥ 0.4"))
                #expect(plain[1].hasPrefix("Escalated to hard: churn-drift on model churn") && plain[1].contains("Severity: hard"))
                #expect(plain[2].hasPrefix("Acknowledged by alice:") && plain[2].contains("Acknowledged by: alice"))
                #expect(plain[3].hasPrefix("Resolved: churn-drift") && plain[3].contains("Resolution:\n  - fixed upstream"))
                #expect(!plain[3].contains("Why:"))
                let html = mails[0]["html"] ?? ""
                #expect(html.contains("<h2>Soft alert: churn-drift on model churn</h2>") && html.contains("<li>tenure_months: 0.310"), "\(html)")
                #expect(html.contains("drift share 0.67 ≥ 0.4"))
            }
        }
    }

    @Test("a wrong password is refused with 535 and dead-lettered at once, with the server's words; nothing reaches the mailbox")
    func wrongPassword() async throws {
        try await MailServer.with { server in
            try await TestDatabase.withFresh { database in
                let channels = ChannelDirectory(channels: Dictionary(uniqueKeysWithValues: [Self.channel(server, password: "wrong")]))
                let store = AlertStore(database: database)
                let alert = try await store.raise(AlertFinding(model: "churn", rule: "churn-drift", severity: .hard, channels: ["mail"]),
                                                  idempotencyKey: "a", runID: nil, actor: "t", now: Date()).alert
                let deliveries = try await AlertNotifier(database: database, channels: channels, logger: EngineFixtures.logger).deliverPending(alertID: alert.id)
                #expect(deliveries.map(\.state) == [.dead], "\(deliveries.map(\.state))")
                let notification = try #require(try await NotificationOutbox(database: database).notifications(ofAlert: alert.id).first)
                #expect(notification.lastStatus == 535 && notification.attempts == 1)
                #expect(deliveries.first?.error?.contains("AUTH PLAIN with 535") == true, "\(deliveries.first?.error ?? "")")
                #expect(try server.messages().isEmpty)
            }
        }
    }

    @Test("a server that takes the connection and never greets: each attempt ends at the channel's timeout, and the mail stays queued for a later round")
    func silentServer() async throws {
        // The HTTP test receiver waits for a request, so to an SMTP client it is a server that never speaks.
        try await withReceiver { base, _ in
            try await TestDatabase.withFresh { database in
                let port = try #require(URLComponents(string: base)?.port)
                var channel = ChannelConfiguration(name: "mail", kind: .email, url: "smtp://127.0.0.1:\(port)", timeout: 1, attempts: 2, backoff: 0.05)
                channel.mail = MailSettings(host: "127.0.0.1", port: port, security: .none, from: "vigil@example.com", recipients: ["risk@example.com"])
                let store = AlertStore(database: database)
                let alert = try await store.raise(AlertFinding(model: "churn", rule: "churn-drift", severity: .hard, channels: ["mail"]),
                                                  idempotencyKey: "a", runID: nil, actor: "t", now: Date()).alert
                let notifier = AlertNotifier(database: database, channels: ChannelDirectory(channels: ["mail": channel]), logger: EngineFixtures.logger)
                let started = ContinuousClock.now
                let deliveries = try await notifier.deliverPending(alertID: alert.id)
                let took = ContinuousClock.now - started
                #expect(deliveries.map(\.state) == [.pending], "\(deliveries.map(\.state))")
                #expect(deliveries.first?.error?.contains("no answer within 1 s") == true, "\(deliveries.first?.error ?? "")")
                #expect(took >= .seconds(2) && took < .seconds(30), "two attempts of a second each took \(took)")
            }
        }
    }
}
