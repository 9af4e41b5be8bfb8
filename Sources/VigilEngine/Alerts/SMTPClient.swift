import Foundation
import NIOCore
import NIOExtras
import NIOPosix
import NIOSSL
import VigilStore
import VigilWorkflow

/// Hands one message to an SMTP server (RFC 5321): `EHLO`, `STARTTLS` (or TLS from the start),
/// `AUTH PLAIN` or `AUTH LOGIN`, then the envelope and `DATA`.
///
/// The server's reply decides what the outbox does, as an HTTP status does for the other
/// channels: 2xx delivered, 4xx (and no connection, a timeout or a failed TLS handshake) tried
/// again later, 5xx refused and dead-lettered for a person to look at. The reply code is what
/// the outbox records as the notification's last status.
struct SMTPClient: Sendable {
    let settings: MailSettings
    let password: String?
    /// The whole exchange's time limit, connection included.
    let timeout: TimeInterval

    /// A server reply: its code and its lines of text.
    struct Reply: Sendable {
        let code: Int
        let lines: [String]
        var text: String { lines.joined(separator: " / ") }
    }

    /// Why an exchange stopped short of delivery.
    enum Failure: Error {
        /// The server answered `reply` to `command` (a 4xx or 5xx, or a code the step does not expect).
        case rejected(command: String, reply: Reply)
        /// The server broke the protocol or closed the connection.
        case broken(String)
    }

    /// Sends `message` (its bytes as ``MailMessage/rendered()`` makes them) to every recipient.
    func send(_ message: [UInt8]) async -> ReceiverAnswer {
        let receiver = "SMTP server \(settings.host):\(settings.port)"
        do {
            let accepted = try await withThrowingTaskGroup(of: Reply?.self) { group in
                group.addTask { try await self.exchange(message) }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(Int64(timeout * 1_000)))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let reply = first else {
                    throw Failure.broken("no answer within \(NumberText.format(timeout)) s")
                }
                return reply
            }
            return .accepted(status: accepted.code)
        } catch let Failure.rejected(command, reply) {
            let answer = "\(receiver) answered \(command) with \(reply.code) \(reply.text)"
            return (500..<600).contains(reply.code) ? .refused(status: reply.code, answer: answer) : .unavailable(status: reply.code, error: answer)
        } catch let Failure.broken(reason) {
            return .unavailable(status: nil, error: "\(receiver): \(reason)")
        } catch {
            return .unavailable(status: nil, error: "\(receiver) did not answer: \(AlertNotifier.describe(error))")
        }
    }

    /// The exchange, from connecting to `QUIT`; the reply that accepted the message.
    private func exchange(_ message: [UInt8]) async throws -> Reply {
        let tls = try settings.security == .none ? nil : NIOSSLContext(configuration: tlsConfiguration)
        let serverName = Self.serverName(settings.host)
        let implicitTLS = settings.security == .tls
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(Int64(timeout * 1_000)))
            .connect(host: settings.host, port: settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if implicitTLS, let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineBasedFrameDecoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var session = Session(replies: inbound.makeAsyncIterator(), outbound: outbound)
            try await session.expect("the greeting", 220)
            var hello = try await session.command("EHLO \(Self.clientName)", expect: 250)
            if settings.security == .starttls, let tls {
                guard hello.lines.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) else {
                    throw Failure.broken("does not offer STARTTLS; set `tls: none` only for a relay on a trusted network")
                }
                try await session.command("STARTTLS", expect: 220)
                try await channel.channel.eventLoop.submit {
                    try channel.channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName), position: .first)
                }.get()
                hello = try await session.command("EHLO \(Self.clientName)", expect: 250)
            }
            if let username = settings.username, let password {
                try await session.authenticate(username: username, password: password, offered: hello)
            }
            try await session.command("MAIL FROM:<\(settings.from)>", expect: 250)
            for recipient in settings.recipients { try await session.command("RCPT TO:<\(recipient)>", expect: 250, 251) }
            try await session.command("DATA", expect: 354)
            let accepted = try await session.data(message)
            _ = try? await session.command("QUIT", expect: 221)
            return accepted
        }
    }

    private var tlsConfiguration: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let trusted = settings.trustedCertificates { configuration.trustRoots = .file(trusted) }
        return configuration
    }

    /// The name to check the server's certificate against: the host, or `nil` for an IP address
    /// (which the certificate must then carry as an IP subject alternative name).
    static func serverName(_ host: String) -> String? {
        (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
    }

    /// What Vigil calls itself in `EHLO`: this host's name when it is a plain domain name.
    static let clientName: String = {
        let name = ProcessInfo.processInfo.hostName
        let plain = !name.isEmpty && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "." || $0 == "-") }
        return plain ? name : "[127.0.0.1]"
    }()

    /// One connection's conversation: a command, then the server's reply.
    private struct Session {
        var replies: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

        /// The next reply, all its lines (`250-…` continues, `250 …` ends).
        mutating func reply(to command: String) async throws -> Reply {
            var lines: [String] = []
            while lines.count < 200 {
                guard let frame = try await replies.next() else { throw Failure.broken("closed the connection after \(command)") }
                let line = String(buffer: frame)
                let characters = Array(line.utf8)
                guard characters.count >= 3, let code = Int(String(line.prefix(3))), (200..<600).contains(code) else {
                    throw Failure.broken("answered \(command) with '\(line.prefix(80))', not an SMTP reply")
                }
                lines.append(String(line.dropFirst(4)))
                if characters.count == 3 || characters[3] == UInt8(ascii: " ") { return Reply(code: code, lines: lines) }
            }
            throw Failure.broken("answered \(command) with more than 200 lines")
        }

        /// Waits for a reply and checks its code.
        @discardableResult
        mutating func expect(_ command: String, _ codes: Int...) async throws -> Reply {
            let reply = try await reply(to: command)
            guard codes.contains(reply.code) else { throw Failure.rejected(command: command, reply: reply) }
            return reply
        }

        /// Sends `line` and checks the reply's code; `shown` is how errors name the command (never
        /// with a password in it).
        @discardableResult
        mutating func command(_ line: String, expect codes: Int..., shown: String? = nil) async throws -> Reply {
            try await outbound.write(ByteBuffer(string: line + "\r\n"))
            let name = shown ?? String(line.prefix { $0 != ":" && $0 != "<" }).trimmingCharacters(in: .whitespaces)
            let reply = try await reply(to: name)
            guard codes.contains(reply.code) else { throw Failure.rejected(command: name, reply: reply) }
            return reply
        }

        /// `AUTH PLAIN` when the server offers it, else `AUTH LOGIN`.
        mutating func authenticate(username: String, password: String, offered hello: Reply) async throws {
            let mechanisms = Set(hello.lines.filter { $0.uppercased().hasPrefix("AUTH") }.flatMap { $0.uppercased().split(whereSeparator: { $0 == " " || $0 == "=" }).dropFirst().map(String.init) })
            func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
            if mechanisms.contains("PLAIN") {
                try await command("AUTH PLAIN \(base64("\0\(username)\0\(password)"))", expect: 235, shown: "AUTH PLAIN")
            } else if mechanisms.contains("LOGIN") {
                try await command("AUTH LOGIN", expect: 334)
                try await command(base64(username), expect: 334, shown: "AUTH LOGIN (user name)")
                try await command(base64(password), expect: 235, shown: "AUTH LOGIN (password)")
            } else {
                throw Failure.broken(mechanisms.isEmpty ? "offers no AUTH, but the channel has a username" : "offers AUTH \(mechanisms.sorted().joined(separator: " ")), none of PLAIN and LOGIN")
            }
        }

        /// The message after `DATA`: each line starting with a dot gets another (RFC 5321 §4.5.2),
        /// then the lone dot that ends it.
        mutating func data(_ message: [UInt8]) async throws -> Reply {
            var buffer = ByteBuffer()
            buffer.reserveCapacity(message.count + message.count / 64 + 8)
            var atLineStart = true
            for byte in message {
                if atLineStart && byte == UInt8(ascii: ".") { buffer.writeInteger(UInt8(ascii: ".")) }
                buffer.writeInteger(byte)
                atLineStart = byte == UInt8(ascii: "\n")
            }
            buffer.writeString(".\r\n")
            try await outbound.write(buffer)
            return try await expect("the message", 250)
        }
    }
}
