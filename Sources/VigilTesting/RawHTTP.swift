import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Talks to a server over a plain TCP socket, for requests no HTTP client would send: a huge
/// `Content-Length`, a chunk size of 2⁶⁴−1, ten thousand headers, a head that never ends.
public enum RawHTTP {
    /// What came back: the bytes the server sent before it closed or `timeout` passed, and when.
    public struct Answer: Sendable {
        public let text: String
        public let seconds: Double
        /// The status code of the first status line, if one came.
        public var status: Int? {
            guard text.hasPrefix("HTTP/1.1 ") || text.hasPrefix("HTTP/1.0 "), let code = Int(text.dropFirst(9).prefix(3)) else { return nil }
            return code
        }
        /// The body after the first head, as JSON.
        public var json: [String: Any]? {
            guard let range = text.range(of: "\r\n\r\n") else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(text[range.upperBound...].utf8))) as? [String: Any]
        }
    }

    /// Sends `request` to `127.0.0.1:port`, then reads until the server closes or `timeout` seconds pass.
    /// Runs on a thread of its own: the socket calls block.
    public static func exchange(port: Int, _ request: [UInt8], timeout: Double = 5) async -> Answer {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: blockingExchange(port: port, request, timeout: timeout)) }.start()
        }
    }

    /// Whether `bytes` hold a whole response: a head and as much body as its `Content-Length` says.
    private static func isComplete(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let length = text[..<end.lowerBound].split(separator: "\r\n")
            .first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
        guard let length else { return false }
        return text[end.upperBound...].utf8.count >= length
    }

    private static func blockingExchange(port: Int, _ request: [UInt8], timeout: Double) -> Answer {
        let started = Date()
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return Answer(text: "", seconds: 0) }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return Answer(text: "", seconds: 0) }
        var wait = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var offset = 0
        while offset < request.count {
            let sent = request[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            // The server may answer and stop reading before the request is all sent.
            guard sent > 0 else { break }
            offset += sent
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while Date().timeIntervalSince(started) < timeout, !isComplete(received) {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            received.append(contentsOf: buffer[0..<count])
        }
        return Answer(text: String(decoding: received, as: UTF8.self), seconds: Date().timeIntervalSince(started))
    }
}
