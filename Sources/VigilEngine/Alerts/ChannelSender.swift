import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VigilStore

/// Sends one message to a channel's receiver, as alert notifications and routing announcements
/// both go out.
struct ChannelSender: Sendable {
    let client: HTTPClient

    /// What a delivery round came to.
    struct Round {
        /// What the channel's ``DeliveryPolicy`` makes of the receiver's answer.
        let decision: DeliveryDecision
        let answer: ReceiverAnswer
        /// Requests made in the round.
        let requests: Int
        /// When the round ended.
        let endedAt: Date
    }

    /// Sends `message` for one round and lets the channel's policy decide what follows, given
    /// the requests made for it before (`requestsSoFar`) and when it was queued.
    func deliver(_ message: ChannelMessage, on channel: ChannelConfiguration, requestsSoFar: Int, queuedAt: Date, clock: any EngineClock) async -> Round {
        let (answer, requests) = await round(message, on: channel)
        let now = clock.now()
        let decision = channel.delivery.decide(answer, round: channel.rounds(afterRequests: requestsSoFar) + 1,
                                               queuedAt: queuedAt, now: now, jitter: Double.random(in: 0...1))
        return Round(decision: decision, answer: answer, requests: requests, endedAt: now)
    }

    /// One round: up to the channel's attempts, retrying what may pass at once; the last answer
    /// and the requests made.
    func round(_ message: ChannelMessage, on channel: ChannelConfiguration) async -> (ReceiverAnswer, Int) {
        var answer = ReceiverAnswer.unavailable(status: nil, error: "not sent")
        let attempts = max(1, channel.attempts)
        let receiver = "\(channel.name) (\(channel.kind.rawValue) at \(channel.redactedURL))"
        for attempt in 1...attempts {
            if attempt > 1 {
                let wait = channel.backoff * pow(2, Double(attempt - 2))
                do { try await Task.sleep(for: .milliseconds(Int64(wait * 1_000))) } catch { return (answer, attempt - 1) }
            }
            answer = await send(message, on: channel, receiver: receiver)
            guard case .unavailable = answer else { return (answer, attempt) }
        }
        if case let .unavailable(status, error) = answer {
            answer = .unavailable(status: status, error: "\(error) (\(attempts) attempt\(attempts == 1 ? "" : "s") this round)")
        }
        return (answer, attempts)
    }

    /// One request: an HTTP POST, or an SMTP exchange for an e-mail channel.
    private func send(_ message: ChannelMessage, on channel: ChannelConfiguration, receiver: String) async -> ReceiverAnswer {
        if channel.kind == .email {
            guard let settings = channel.mail else { return .unavailable(status: nil, error: "\(channel.name) has no e-mail settings") }
            return await SMTPClient(settings: settings, password: channel.secret, timeout: channel.timeout).send(Array(message.body))
        }
        var request = HTTPClientRequest(url: message.url)
        request.method = .POST
        for (name, value) in message.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: message.body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(channel.timeout * 1_000)))
            let body = try await response.body.collect(upTo: 64 << 10)
            let status = Int(response.status.code)
            return ReceiverAnswer.classify(status: status, answer: "\(receiver) answered \(status): \(String(buffer: body).prefix(200))")
        } catch {
            return .unavailable(status: nil, error: "\(receiver) did not answer: \(AlertNotifier.describe(error))")
        }
    }
}
