import Crypto
import Foundation
import Testing
import VigilEngine
import VigilStore
import VigilTesting
import VigilWorkflow

/// The durable outbox against a real HTTP receiver that goes down and comes back.
@Suite("Durable delivery")
struct DeliveryTests {
    /// A channel at `url` with short rounds and waits, so an outage of seconds stands for one of minutes.
    static func channel(_ name: String, _ kind: ChannelConfiguration.Kind, _ url: String, secret: String? = nil) -> (String, ChannelConfiguration) {
        var channel = ChannelConfiguration(name: name, kind: kind, url: url, secret: secret, timeout: 5, attempts: 1, backoff: 0.05)
        channel.delivery = DeliveryPolicy(initialDelay: 0.1, maximumDelay: 0.4, maximumAge: 3_600)
        channel.circuit = ChannelCircuit(threshold: 3, initialPause: 0.2, maximumPause: 0.5)
        return (name, channel)
    }

    /// Starts (`down`) or ends (`up`) the receiver's outage of its `/outage/...` paths.
    static func control(_ base: String, _ action: String) async throws {
        let port = try #require(URLComponents(string: base)?.port)
        let answer = await RawHTTP.exchange(port: port, Array("POST /control/\(action) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
        #expect(answer.status == 200)
    }

    /// Runs keeper passes (delivering what is due at once, however new) until nothing waits to
    /// go out, or a minute has passed.
    static func keepUntilDelivered(_ database: Database, channels: ChannelDirectory) async throws {
        var configuration = AlertKeeper.Configuration()
        configuration.orphanAge = 0
        let keeper = AlertKeeper(database: database, channels: channels, configuration: configuration, logger: EngineFixtures.logger)
        let outbox = NotificationOutbox(database: database)
        let deadline = ContinuousClock.now + .seconds(120)
        while try await outbox.backlog(now: Date()).pending > 0 && ContinuousClock.now < deadline {
            try await keeper.tick()
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Which notification a request carried (every channel's requests say it in `X-Vigil-Event`).
    static func kind(of request: [String: String]) -> String { request["event"] ?? "" }

    @Test("receivers down for 60 s (every HTTP kind and an SMTP server) through an alert's open, escalation, acknowledgement and resolution: after they return every transition reaches every receiver once, in order, as one incident")
    func outageThroughAnAlertsLife() async throws {
        try await MailServer.with { mailServer in
            try await withReceiver { base, requests in
                try await TestDatabase.withFresh { database in
                    var mail = Self.channel("mail", .email, "smtp://127.0.0.1:\(mailServer.port)", secret: MailServer.password)
                    mail.1.mail = MailSettings(host: "127.0.0.1", port: mailServer.port, from: "vigil@example.com", recipients: ["oncall@example.com"],
                                               username: MailServer.username, trustedCertificates: mailServer.certificate)
                    let paths = [
                        "pagerduty": "/outage/pd", "slack": "/outage/slack", "hook": "/outage/hook", "teams": "/outage/teams",
                        "opsgenie": "/outage/og/", "datadog": "/outage/dd",
                    ]
                    let channels = ChannelDirectory(channels: Dictionary(uniqueKeysWithValues: [
                        Self.channel("pagerduty", .pagerduty, "\(base)/outage/pd", secret: "key"),
                        Self.channel("slack", .slack, "\(base)/outage/slack"),
                        Self.channel("hook", .webhook, "\(base)/outage/hook", secret: "s3cret"),
                        Self.channel("teams", .teams, "\(base)/outage/teams"),
                        Self.channel("opsgenie", .opsgenie, "\(base)/outage/og/", secret: "genie"),
                        Self.channel("datadog", .datadog, "\(base)/outage/dd", secret: "dd"),
                        mail,
                    ]))
                    let notifier = AlertNotifier(database: database, channels: channels, logger: EngineFixtures.logger)
                    let store = AlertStore(database: database)
                    let outbox = NotificationOutbox(database: database)
                    let everyone = channels.channels.keys.sorted()
                    try await Self.control(base, "down")
                    mailServer.stop()
                    let outageEnd = ContinuousClock.now + .seconds(60)

                    var finding = AlertFinding(model: "churn", rule: "churn-drift", severity: .soft, channels: everyone)
                    let alert = try await store.raise(finding, idempotencyKey: "a", runID: nil, actor: "t", now: Date()).alert
                    try await notifier.deliverPending(alertID: alert.id)
                    finding.severity = .hard
                    #expect(try await store.raise(finding, idempotencyKey: "b", runID: nil, actor: "t", now: Date()).escalated)
                    try await notifier.deliverPending(alertID: alert.id)
                    _ = try await store.acknowledge(alert.id, actor: "alice", reason: "looking", now: Date())
                    try await notifier.deliverPending(alertID: alert.id)
                    _ = try await store.resolve(alert.id, actor: "alice", reason: "fixed upstream", now: Date())
                    // The keeper goes on trying while they are down, for a minute.
                    while ContinuousClock.now < outageEnd {
                        try await notifier.deliverPending(queuedBefore: Date())
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    let during = try requests().filter { $0["path"]?.hasPrefix("/outage/") == true }
                    #expect(!during.isEmpty && during.allSatisfy { $0["status"] == "503" })
                    #expect(try mailServer.messages().isEmpty)
                    // In order: nothing after an alert's first notification to a channel goes out before it.
                    let onlyTriggers = during.allSatisfy { Self.kind(of: $0) == "trigger" }
                    #expect(onlyTriggers, "\(during.map(Self.kind))")
                    let queued = try await outbox.notifications(ofAlert: alert.id)
                    #expect(queued.count == 4 * everyone.count && queued.allSatisfy { $0.state == .pending })
                    #expect(try await outbox.backlog(now: Date()).pending == 4 * everyone.count)
                    // Failed so far: each channel's first, tried and refused (the SMTP server not even
                    // listening); the rest wait behind it.
                    let failed = try await outbox.list(state: .failed)
                    #expect(failed.count == everyone.count && failed.allSatisfy { $0.kind == .trigger && $0.attempts > 0 })
                    #expect(failed.allSatisfy { $0.lastStatus == ($0.channel == "mail" ? nil : 503) }, "\(failed.map { "\($0.channel) \($0.lastStatus ?? 0)" })")
                    #expect(try await outbox.channelHealth().allSatisfy { $0.consecutiveFailures >= 3 })

                    try await Self.control(base, "up")
                    try await mailServer.start()
                    try await Self.keepUntilDelivered(database, channels: channels)
                    let delivered = try await outbox.notifications(ofAlert: alert.id)
                    #expect(delivered.allSatisfy { $0.state == .delivered }, "\(delivered.map { "\($0.channel) \($0.kind.rawValue) \($0.state.rawValue)" })")
                    let backlog = try await outbox.backlog(now: Date())
                    #expect(backlog.pending == 0 && backlog.oldestPendingAge == 0)
                    #expect(try await outbox.channelHealth().allSatisfy { $0.consecutiveFailures == 0 && $0.openUntil == nil })

                    let lifecycle = ["trigger", "escalate", "acknowledge", "resolve"]
                    /// The kinds in the order received, a repeat right after itself counted once: at
                    /// least once, a round that timed out after the receiver took it is sent again.
                    func inOrder(_ kinds: [String]) -> [String] { kinds.reduce(into: [String]()) { if $0.last != $1 { $0.append($1) } } }
                    let accepted = try requests().filter { $0["path"]?.hasPrefix("/outage/") == true && $0["status"] == "200" }
                    for (channel, path) in paths {
                        let received = accepted.filter { $0["path"]?.hasPrefix(path) == true }
                        #expect(delivered.filter { $0.channel == channel }.map(\.kind.rawValue) == lifecycle)
                        #expect(inOrder(received.map(Self.kind)) == lifecycle, "\(channel): \(received.map(Self.kind))")
                    }
                    let mails = try mailServer.messages()
                    #expect(inOrder(mails.map { $0["x-vigil-event"] ?? "" }) == lifecycle, "\(mails.map { $0["x-vigil-event"] ?? "" })")
                    #expect(Set(mails.compactMap { $0["references"] }) == ["<vigil-alert-\(alert.id)@example.com>"])
                    // Every request, refused or taken, carries its own notification's idempotency key.
                    let keys = Dictionary(uniqueKeysWithValues: delivered.map { ($0.dedupKey, ($0.channel, $0.kind.rawValue)) })
                    for request in try requests() where request["path"]?.hasPrefix("/outage/") == true {
                        let owner = keys[request["idempotency_key"] ?? ""]
                        let path = owner.flatMap { paths[$0.0] } ?? "?"
                        #expect(request["path"]?.hasPrefix(path) == true && owner?.1 == Self.kind(of: request), "\(request)")
                    }
                    // One incident: PagerDuty hears one dedup key throughout, Opsgenie one alias, Datadog one aggregation key.
                    let pagerDuty = accepted.filter { $0["path"] == "/outage/pd" }.map { EscalationFixtures.json($0["body"])["dedup_key"] as? String }
                    #expect(Set(pagerDuty) == ["vigil-alert-\(alert.id)"])
                    let opsgenie = accepted.compactMap { $0["path"] }.filter { $0.hasPrefix("/outage/og/v2/alerts/") }
                    #expect(!opsgenie.isEmpty && opsgenie.allSatisfy { $0.hasPrefix("/outage/og/v2/alerts/vigil-alert-\(alert.id)/") })
                    let datadog = accepted.filter { $0["path"] == "/outage/dd" }.map {
                        (EscalationFixtures.json($0["body"])["data"] as? [String: Any])?["attributes"].flatMap { ($0 as? [String: Any])?["aggregation_key"] as? String }
                    }
                    #expect(Set(datadog) == ["vigil-alert-\(alert.id)"])
                }
            }
        }
    }

    @Test("a receiver answering 400 is dead-lettered at once with its answer; a person's retry sends it again, audited")
    func refusedThenRetried() async throws {
        try await withReceiver { base, requests in
            try await TestDatabase.withFresh { database in
                var channels = ChannelDirectory(channels: Dictionary(uniqueKeysWithValues: [Self.channel("hook", .webhook, "\(base)/bad")]))
                let store = AlertStore(database: database)
                let outbox = NotificationOutbox(database: database)
                let alert = try await store.raise(AlertFinding(model: "churn", rule: "churn-drift", severity: .hard, channels: ["hook"]),
                                                  idempotencyKey: "a", runID: nil, actor: "t", now: Date()).alert
                let deliveries = try await AlertNotifier(database: database, channels: channels, logger: EngineFixtures.logger).deliverPending(alertID: alert.id)
                #expect(deliveries.map(\.state) == [.dead])
                let dead = try await outbox.list(state: .dead)
                #expect(dead.count == 1 && dead.first?.attempts == 1 && dead.first?.lastStatus == 400)
                #expect(dead.first?.lastError?.contains("invalid routing key") == true, "\(dead.first?.lastError ?? "")")
                #expect(try requests().filter { $0["path"] == "/bad" }.count == 1)
                #expect(try await outbox.backlog(now: Date()).deadLettered == 1)
                // Not dead: nothing to retry.
                await #expect(throws: StoreError.self) { try await outbox.retry(id: dead[0].id + 1_000, actor: "alice", reason: nil, now: Date()) }

                channels.channels["hook"]?.url = "\(base)/ok"
                let requeued = try await outbox.retry(id: dead[0].id, actor: "alice", reason: "receiver fixed", now: Date())
                #expect(requeued.map(\.state) == [.pending])
                let again = try await AlertNotifier(database: database, channels: channels, logger: EngineFixtures.logger).deliverPending(alertID: alert.id)
                #expect(again.map(\.state) == [.delivered])
                #expect(try requests().filter { $0["path"] == "/ok" }.map { $0["idempotency_key"] } == [dead[0].dedupKey])
                let audit = try await AuditLog(database: database).list(actor: "alice").filter { $0.action == "notification.retried" }
                #expect(audit.count == 1 && audit.first?.actor == "alice" && audit.first?.reason == "receiver fixed")
                await #expect(throws: StoreError.self) { try await outbox.retry(id: dead[0].id, actor: "alice", reason: nil, now: Date()) }
            }
        }
    }

    @Test("a receiver down for 30 minutes (a manual clock): the keeper raises 'alerting is degraded' on the other channels, then delivers the backlog and resolves it")
    func longOutageRaisesDegradedAlert() async throws {
        try await withReceiver { base, requests in
            try await TestDatabase.withFresh { database in
                var pagerDuty = ChannelConfiguration(name: "pagerduty", kind: .pagerduty, url: "\(base)/outage/pd", secret: "key", timeout: 2, attempts: 1, backoff: 0.05)
                pagerDuty.delivery = DeliveryPolicy(initialDelay: 30, maximumDelay: 120, maximumAge: 86_400)
                let slack = ChannelConfiguration(name: "slack", kind: .slack, url: "\(base)/slack", timeout: 2, attempts: 1, backoff: 0.05)
                let channels = ChannelDirectory(channels: ["pagerduty": pagerDuty, "slack": slack])
                let clock = ManualClock(Date())
                var configuration = AlertKeeper.Configuration()
                configuration.orphanAge = 0
                configuration.degradedAfter = 600
                let keeper = AlertKeeper(database: database, channels: channels, clock: clock, configuration: configuration, logger: EngineFixtures.logger)
                let store = AlertStore(database: database)
                let outbox = NotificationOutbox(database: database)
                try await Self.control(base, "down")
                let alert = try await store.raise(AlertFinding(model: "churn", rule: "churn-drift", severity: .hard, channels: ["pagerduty", "slack"]),
                                                  idempotencyKey: "a", runID: nil, actor: "t", now: clock.now()).alert
                var degraded: Int?
                var degradedAfter: TimeInterval?
                for step in 0...60 {  // 30 minutes in steps of 30 s
                    try await keeper.tick()
                    if degraded == nil, let id = try await outbox.channelHealth().first(where: { $0.channel == "pagerduty" })?.degradedAlertID {
                        degraded = id
                        degradedAfter = Double(step) * 30
                    }
                    clock.advance(by: 30)
                }
                let alertID = try #require(degraded)
                #expect((600...720).contains(degradedAfter ?? 0), "raised after \(degradedAfter ?? -1) s")
                let raised = try await store.alert(alertID)
                #expect(raised.rule == "delivery-degraded" && raised.subject == "pagerduty" && raised.severity == .hard && raised.state == .firing)
                let slackHeard = try requests().filter { $0["path"] == "/slack" }.map { EscalationFixtures.json($0["body"])["text"] as? String ?? "" }
                #expect(slackHeard.contains { $0.contains("delivery-degraded") }, "\(slackHeard)")
                #expect(try requests().filter { $0["path"] == "/outage/pd" }.allSatisfy { $0["status"] == "503" })
                #expect(try await outbox.notifications(ofAlert: alert.id).first { $0.channel == "pagerduty" }?.state == .pending)
                #expect(try await outbox.backlog(now: clock.now()).oldestPendingAge >= 1_800)

                try await Self.control(base, "up")
                for _ in 0..<10 {
                    clock.advance(by: 120)
                    try await keeper.tick()
                }
                #expect(try await outbox.notifications(ofAlert: alert.id).allSatisfy { $0.state == .delivered })
                #expect(try await store.alert(alertID).state == .resolved)
                #expect(try await outbox.channelHealth().first { $0.channel == "pagerduty" }?.degradedAlertID == nil)
                #expect(try await outbox.backlog(now: clock.now()).pending == 0)
            }
        }
    }

    @Test("every path that changes a routing (registration with an alias, an alias moved by hand, canary stages, promotion, rollback) posts it once, signed, with every field present; archiving and unrouted aliases post nothing")
    func routingOnEveryChange() async throws {
        try await withReceiver { base, requests in
            try await TestDatabase.withFresh { database in
                let webhook = ChannelConfiguration.routingWebhook(url: "\(base)/routing", secret: "s3cret")
                let announcer = RoutingAnnouncer(database: database, destination: webhook, logger: EngineFixtures.logger)
                let models = ModelRegistry(database: database)
                var expected: [String] = []
                /// Delivers what the last change queued and says which routing the webhook got.
                func change(_ label: String, expecting routing: String?, _ body: () async throws -> Void) async throws {
                    try await body()
                    let sent = try await announcer.deliverPending(model: "churn")
                    #expect(sent.map(\.state) == (routing == nil ? [] : [.delivered]), "\(label): \(sent.map(\.state))")
                    if let routing { expected.append(routing) }
                }
                try await change("first version, champion", expecting: "1 - 0.0 -") {
                    _ = try await models.register(NewModelVersion(artifactURI: "file:///m1", framework: "t"), of: "churn", alias: "champion", actor: "t", now: Date())
                }
                try await change("challenger registered", expecting: "1 - 0.0 2") {
                    _ = try await models.register(NewModelVersion(artifactURI: "file:///m2", framework: "t"), of: "churn", alias: "challenger", actor: "t", now: Date())
                }
                try await change("a version without an alias", expecting: nil) {
                    _ = try await models.register(NewModelVersion(artifactURI: "file:///m3", framework: "t"), of: "churn", actor: "t", now: Date())
                }
                try await change("archived", expecting: nil) { try await models.archive(3, of: "churn", actor: "t", reason: "unused", now: Date()) }
                let promotion = try await models.startPromotion(2, of: "churn", runID: nil, actor: "t", now: Date())
                _ = try await announcer.deliverPending(model: "churn")
                try await change("canary 10%", expecting: "1 2 0.1 2") { try await models.setCanary(promotion, percent: 10, actor: "t", reason: "stage", now: Date()) }
                try await change("promoted", expecting: "2 - 0.0 -") { try await models.completePromotion(promotion, actor: "t", reason: "all stages held", now: Date()) }
                try await change("rolled back", expecting: "1 - 0.0 -") { _ = try await models.rollback("churn", actor: "bob", reason: "complaints", now: Date()) }
                try await change("alias by hand", expecting: "1 - 0.0 2") { try await models.moveAlias("challenger", of: "churn", to: 2, actor: "alice", reason: "again", now: Date()) }

                let posted = try requests().filter { $0["path"] == "/routing" }
                let routings = posted.map { request -> String in
                    let body = EscalationFixtures.json(request["body"])
                    #expect(Set(body.keys) == ["model", "champion_version", "canary_version", "canary_weight", "shadow_version", "updated_at"], "\(body.keys)")
                    func version(_ key: String) -> String { (body[key] as? Int).map(String.init) ?? "-" }
                    return "\(version("champion_version")) \(version("canary_version")) \(body["canary_weight"] as? Double ?? -1) \(version("shadow_version"))"
                }
                #expect(routings == expected)
                #expect(Set(posted.compactMap { $0["idempotency_key"] }).count == posted.count)
                for request in posted {
                    let mac = HMAC<SHA256>.authenticationCode(for: Data((request["body"] ?? "").utf8), using: SymmetricKey(data: Data("s3cret".utf8)))
                    #expect(request["signature"] == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
                }
            }
        }
    }

    @Test("routing changes while the routing webhook is down: after it returns the serving layer gets the newest routing once, under its key, signed; the older unsent ones are superseded, and an unchanged routing queues nothing")
    func routingThroughAnOutage() async throws {
        try await withReceiver { base, requests in
            try await TestDatabase.withFresh { database in
                var webhook = ChannelConfiguration.routingWebhook(url: "\(base)/outage/routing", secret: "s3cret")
                webhook.attempts = 1
                webhook.delivery = DeliveryPolicy(initialDelay: 0.1, maximumDelay: 0.4, maximumAge: 3_600)
                let announcer = RoutingAnnouncer(database: database, destination: webhook, logger: EngineFixtures.logger)
                let models = ModelRegistry(database: database)
                let queue = OutboundQueue(database: database)
                try await Self.control(base, "down")

                for version in 1...2 {
                    _ = try await models.register(NewModelVersion(artifactURI: "file:///m\(version)", framework: "test"), of: "churn", actor: "t", now: Date())
                }
                // Each change queues its routing in its own transaction, tried at once and refused.
                try await models.moveAlias("champion", of: "churn", to: 1, actor: "alice", reason: "first", now: Date())
                #expect(try await announcer.deliverPending(model: "churn").map(\.state) == [.pending])
                let promotion = try await models.startPromotion(2, of: "churn", runID: nil, actor: "t", now: Date())
                try await models.setCanary(promotion, percent: 10, actor: "t", reason: "stage 1", now: Date())
                try await models.setCanary(promotion, percent: 50, actor: "t", reason: "stage 2", now: Date())
                // Moving an alias that is not part of the routing queues nothing.
                try await models.moveAlias("previous", of: "churn", to: 2, actor: "alice", reason: "bookkeeping", now: Date())
                try await models.rollbackPromotion(promotion, actor: "t", reason: "guard failed", now: Date())

                let queued = try await queue.list(topic: OutboundQueue.routingTopic, subject: "churn").reversed().map { "\($0.state.rawValue) \($0.body["canary_weight"]?.numberValue ?? -1)" }
                #expect(queued == ["superseded 0.0", "superseded 0.1", "superseded 0.5", "pending 0.0"])
                #expect(try await NotificationOutbox(database: database).backlog(now: Date()).pending == 1)

                try await Self.control(base, "up")
                try await Self.keepUntilDelivered(database, channels: ChannelDirectory(routing: webhook))
                let final = try #require(try await queue.list(topic: OutboundQueue.routingTopic, subject: "churn").first)
                #expect(final.state == .delivered)
                let accepted = try requests().filter { $0["path"] == "/outage/routing" && $0["status"] == "200" }
                #expect(accepted.count == 1)
                let body = EscalationFixtures.json(accepted.first?["body"])
                #expect(body["model"] as? String == "churn" && body["champion_version"] as? Int == 1 && body["canary_version"] is NSNull)
                #expect(accepted.first?["idempotency_key"] == final.dedupKey && accepted.first?["event"] == "routing")
                let mac = HMAC<SHA256>.authenticationCode(for: Data((accepted.first?["body"] ?? "").utf8), using: SymmetricKey(data: Data("s3cret".utf8)))
                #expect(accepted.first?["signature"] == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
                #expect(try await NotificationOutbox(database: database).backlog(now: Date()).oldestPendingAge == 0)
            }
        }
    }
}
