import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VigilStore

/// Sends one message to a channel's receiver, as alert notifications and routing announcements
/// both go out.
struct ChannelSender: Sendable {
    let client: HTTPClient

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
            var request = HTTPClientRequest(url: message.url)
            request.method = .POST
            for (name, value) in message.headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(bytes: message.body))
            do {
                let response = try await client.execute(request, timeout: .milliseconds(Int64(channel.timeout * 1_000)))
                let body = try await response.body.collect(upTo: 64 << 10)
                let status = Int(response.status.code)
                answer = ReceiverAnswer.classify(status: status, answer: "\(receiver) answered \(status): \(String(buffer: body).prefix(200))")
            } catch {
                answer = .unavailable(status: nil, error: "\(receiver) did not answer: \(AlertNotifier.describe(error))")
            }
            guard case .unavailable = answer else { return (answer, attempt) }
        }
        if case let .unavailable(status, error) = answer {
            answer = .unavailable(status: status, error: "\(error) (\(attempts) attempt\(attempts == 1 ? "" : "s") this round)")
        }
        return (answer, attempts)
    }
}
