import Foundation

/// What a receiver did with one delivery round of a notification.
public enum ReceiverAnswer: Sendable, Equatable {
    /// A 2xx: the receiver has it.
    case accepted(status: Int)
    /// A 4xx other than 408 and 429: sending the same message again cannot help.
    case refused(status: Int, answer: String)
    /// A 5xx, 408 or 429, a timeout or no connection: the receiver may take it later.
    case unavailable(status: Int?, error: String)

    /// The receiver's HTTP status, when it answered.
    public var status: Int? {
        switch self {
        case let .accepted(status), let .refused(status, _): status
        case let .unavailable(status, _): status
        }
    }

    /// The answer a status code means, with `answer` (the receiver's words, or the error) kept.
    public static func classify(status: Int, answer: String) -> ReceiverAnswer {
        switch status {
        case 200..<300: .accepted(status: status)
        case 408, 429, 500...: .unavailable(status: status, error: answer)
        default: .refused(status: status, answer: answer)
        }
    }
}

/// Where a delivery round leaves a notification.
public enum DeliveryDecision: Sendable, Equatable {
    case delivered
    /// Still pending; tried again from `at`.
    case retry(at: Date, reason: String)
    /// Given up: kept, with `reason`, until a person retries it.
    case dead(reason: String)
}

/// The rules of at-least-once delivery, one place and pure: after each round a notification is
/// delivered, tried again after an exponential backoff with jitter, or dead-lettered (refused by
/// the receiver, or older than ``maximumAge``). The outbox applies the decision.
public struct DeliveryPolicy: Sendable, Equatable {
    /// The wait after the first failed round; it doubles after each further one.
    public var initialDelay: TimeInterval = 5
    /// The longest wait between rounds.
    public var maximumDelay: TimeInterval = 300
    /// A notification still undelivered this long after it was queued is dead-lettered.
    public var maximumAge: TimeInterval = 86_400

    public init(initialDelay: TimeInterval = 5, maximumDelay: TimeInterval = 300, maximumAge: TimeInterval = 86_400) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.maximumAge = maximumAge
    }

    /// The decision after round `round` (from 1) of a notification queued at `queuedAt` got
    /// `answer` at `now`; `jitter` in 0...1 picks the random half of the backoff.
    public func decide(_ answer: ReceiverAnswer, round: Int, queuedAt: Date, now: Date, jitter: Double) -> DeliveryDecision {
        switch answer {
        case .accepted:
            return .delivered
        case let .refused(status, text):
            return .dead(reason: "refused (\(status), not retried): \(text)")
        case let .unavailable(_, error):
            let at = now.addingTimeInterval(delay(after: round, jitter: jitter))
            let deadline = queuedAt.addingTimeInterval(maximumAge)
            guard at < deadline else {
                return .dead(reason: "undelivered after \(round) round\(round == 1 ? "" : "s") over \(Self.format(now.timeIntervalSince(queuedAt))) (maximum age \(Self.format(maximumAge))): \(error)")
            }
            return .retry(at: at, reason: error)
        }
    }

    /// The wait after round `round`: exponential, capped, half fixed and half `jitter`.
    public func delay(after round: Int, jitter: Double) -> TimeInterval {
        let exponential = initialDelay * pow(2, Double(min(max(0, round - 1), 40)))
        let delay = min(maximumDelay, exponential)
        return delay / 2 + min(1, max(0, jitter)) * delay / 2
    }

    static func format(_ seconds: TimeInterval) -> String {
        seconds >= 3_600 ? "\(Int(seconds / 3_600))h" : seconds >= 60 ? "\(Int(seconds / 60))m" : "\(Int(seconds))s"
    }
}

/// When a channel's circuit opens and for how long: after ``threshold`` failed rounds in a row its
/// deliveries pause, for a cool-down that doubles with each further failure (the probe that ends
/// each cool-down is one message), up to ``maximumPause``.
public struct ChannelCircuit: Sendable, Equatable {
    public var threshold: Int
    public var initialPause: TimeInterval
    public var maximumPause: TimeInterval

    public init(threshold: Int = 3, initialPause: TimeInterval = 10, maximumPause: TimeInterval = 300) {
        self.threshold = threshold
        self.initialPause = initialPause
        self.maximumPause = maximumPause
    }

    /// Until when the channel pauses after `failures` failed rounds in a row, or `nil` (closed).
    public func openUntil(failures: Int, now: Date) -> Date? {
        guard failures >= threshold else { return nil }
        let pause = min(maximumPause, initialPause * pow(2, Double(min(failures - threshold, 40))))
        return now.addingTimeInterval(pause)
    }
}
