import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import VigilStore
import VigilTesting

/// `kill -9` of `vigil serve` while it sends a notification, then a restart.
@Suite("Delivery across a crash", .timeLimit(.minutes(5)))
struct DeliveryCrashTests {
    @Test("vigil serve killed with SIGKILL mid-delivery: after a restart the notification is delivered, at most twice, with one idempotency key; /metrics counts it pending until then, 0 after")
    func killedMidDelivery() async throws {
        try await withReceiver { base, requests in
            try await TestDatabase.withFresh { database in
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-crash-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: folder) }
                // `/slow` takes the request and logs it; the receiver itself kills the sender as the
                // request arrives. (The test killing it after seeing the request was a race: on a
                // loaded two-core machine the test did not run again for the 10 s `/slow` takes to
                // answer, and the notification was delivered before the kill.)
                let channelsFile = folder.appendingPathComponent("channels.yaml")
                try """
                channels:
                  hook:
                    type: webhook
                    url: \(base)/slow
                    timeout: 15s
                    attempts: 1
                    retry_delay: 1s
                """.write(to: channelsFile, atomically: true, encoding: .utf8)
                let url = database.configuration.url(revealingPassword: true)
                let environment = VigilProcess.cleanEnvironment()
                let serve = { try await startServe(url: url, environment: environment, arguments: ["--channels", channelsFile.path]) }

                let (_, first) = try await serve()
                let armed = try await HTTPClient.shared.execute(HTTPClientRequest(url: "\(base)/control/kill-on-slow/\(first.processIdentifier)"), timeout: .seconds(10))
                #expect(armed.status == .ok)
                // Queued with the alert, in its transaction, as a step's escalation queues it.
                let alert = try await AlertStore(database: database).raise(
                    AlertFinding(model: "churn", rule: "churn-drift", severity: .hard, channels: ["hook"]), idempotencyKey: nil, runID: nil, actor: "t", now: Date()
                ).alert
                let arrived = ContinuousClock.now + .seconds(60)
                while try requests().filter({ $0["path"] == "/slow" }).isEmpty && ContinuousClock.now < arrived {
                    try await Task.sleep(for: .milliseconds(20))
                }
                let sentOnce = try requests().count { $0["path"] == "/slow" } == 1
                if !sentOnce { kill(first.processIdentifier, SIGKILL) }
                _ = try await first.wait()
                try #require(sentOnce, "the keeper never sent the notification")
                let outbox = NotificationOutbox(database: database)
                let inFlight = try #require(try await outbox.notifications(ofAlert: alert.id).first)
                #expect(inFlight.state == .pending, "the killed process recorded nothing")

                let (base, second) = try await serve()
                defer { kill(second.processIdentifier, SIGKILL) }
                // /metrics counts it while it waits for the dead sender's lease to lapse, and not after.
                let token = try await TokenStore(database: database).create(principal: "scraper", roles: [.viewer], sensitiveModels: [], actor: "t", now: Date()).token
                func metric(_ name: String) async throws -> Double? {
                    var request = HTTPClientRequest(url: "\(base)/metrics")
                    request.headers.add(name: "Authorization", value: "Bearer \(token)")
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
                    let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                    let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
                    return line?.split(separator: " ").last.flatMap { Double($0) }
                }
                let waitingCount = try await metric("vigil_notifications_pending")
                let waitingAge = try await metric("vigil_notifications_oldest_pending_age_seconds") ?? 0
                #expect(waitingCount == 1 && waitingAge > 0, "\(String(describing: waitingCount)) \(waitingAge)")
                let delivered = ContinuousClock.now + .seconds(90)
                while try await outbox.notifications(ofAlert: alert.id).first?.state != .delivered && ContinuousClock.now < delivered {
                    try await Task.sleep(for: .milliseconds(200))
                }
                let notification = try #require(try await outbox.notifications(ofAlert: alert.id).first)
                #expect(notification.state == .delivered, "\(notification.state) \(notification.lastError ?? "")")
                let sent = try requests().filter { $0["path"] == "/slow" }
                #expect(sent.count == 2, "the in-flight request, and the one after the restart: \(sent.count)")
                let keys = Set(sent.compactMap { $0["idempotency_key"] })
                let triggers = sent.allSatisfy { $0["event"] == "trigger" }
                #expect(keys == [notification.dedupKey] && triggers)
                let afterCount = try await metric("vigil_notifications_pending")
                let afterAge = try await metric("vigil_notifications_oldest_pending_age_seconds")
                #expect(afterCount == 0 && afterAge == 0)
            }
        }
    }
}
