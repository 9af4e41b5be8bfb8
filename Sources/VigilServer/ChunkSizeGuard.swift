import NIOCore

/// Follows the HTTP/1 framing of the raw bytes a connection receives, in front of the HTTP
/// parser, to catch what the parser lets through: a chunk of a chunked body that declares more
/// bytes than the server's body limit (`FFFFFFFFFFFFFFFF` parses, and would keep the request
/// open until that much arrived). It then stops passing bytes on and fires ``Exceeded`` for
/// ``RequestLimitHandler`` to answer.
///
/// It only watches: bytes go on to the parser unchanged, and anything it cannot follow (a
/// malformed head, say) is left to the parser to refuse.
final class ChunkSizeGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// A chunk declared larger than the limit.
    struct Exceeded: Sendable {
        let declared: String
    }

    private enum Framing {
        /// Reading a head: the bytes since its start, to find its end and its framing headers.
        case head([UInt8])
        /// A body of known length: bytes still to come.
        case fixed(remaining: Int)
        /// A chunk-size line, read so far.
        case chunkSize([UInt8])
        /// Chunk data and its closing CRLF: bytes still to come.
        case chunkData(remaining: Int)
        /// The trailer section after the last chunk: the current line so far.
        case trailer([UInt8])
        /// Nothing more is followed on this connection.
        case stopped
    }

    private let maximumBodyBytes: Int
    private var framing = Framing.head([])
    private static let maximumLine = 64 << 10

    init(maximumBodyBytes: Int) {
        self.maximumBodyBytes = maximumBodyBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if case .stopped = framing {
            context.fireChannelRead(data)
            return
        }
        if let exceeded = follow(buffer.readableBytesView) {
            framing = .stopped
            context.fireUserInboundEventTriggered(exceeded)
            return
        }
        context.fireChannelRead(data)
    }

    /// Advances the framing over `bytes`; the chunk size that is too large, if one is declared.
    private func follow(_ bytes: ByteBufferView) -> Exceeded? {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            switch framing {
            case var .head(seen):
                seen.append(bytes[index])
                index += 1
                if seen.count >= 4, seen.suffix(4).elementsEqual("\r\n\r\n".utf8) {
                    framing = Self.bodyFraming(ofHead: seen)
                } else if seen.count > Self.maximumLine {
                    framing = .stopped
                } else {
                    framing = .head(seen)
                }
            case let .fixed(remaining):
                let left = Self.skip(remaining, from: &index, in: bytes)
                framing = left == 0 ? .head([]) : .fixed(remaining: left)
            case var .chunkSize(line):
                line.append(bytes[index])
                index += 1
                guard line.count >= 2, line.suffix(2).elementsEqual("\r\n".utf8) else {
                    framing = line.count > Self.maximumLine ? .stopped : .chunkSize(line)
                    continue
                }
                let digits = line.prefix { $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: "\r") }
                let text = String(decoding: digits, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                // Sixteen hex digits or fewer always fit a UInt64; more is larger than any limit.
                guard text.count <= 16, let size = UInt64(text, radix: 16) else {
                    if text.count > 16, text.allSatisfy(\.isHexDigit) { return Exceeded(declared: "0x" + text.prefix(24)) }
                    framing = .stopped
                    continue
                }
                if size > UInt64(maximumBodyBytes) { return Exceeded(declared: String(size)) }
                framing = size == 0 ? .trailer([]) : .chunkData(remaining: Int(size) + 2)
            case let .chunkData(remaining):
                let left = Self.skip(remaining, from: &index, in: bytes)
                framing = left == 0 ? .chunkSize([]) : .chunkData(remaining: left)
            case var .trailer(line):
                line.append(bytes[index])
                index += 1
                if line.count >= 2, line.suffix(2).elementsEqual("\r\n".utf8) {
                    framing = line.count == 2 ? .head([]) : .trailer([])
                } else {
                    framing = line.count > Self.maximumLine ? .stopped : .trailer(line)
                }
            case .stopped:
                return nil
            }
        }
        return nil
    }

    /// Moves `index` over up to `count` bytes of `bytes`; returns how many are still to come.
    private static func skip(_ count: Int, from index: inout Int, in bytes: ByteBufferView) -> Int {
        let step = min(count, bytes.endIndex - index)
        index += step
        return count - step
    }

    /// The body framing a complete head announces.
    private static func bodyFraming(ofHead head: [UInt8]) -> Framing {
        var chunked = false
        var length = 0
        for line in String(decoding: head, as: UTF8.self).split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces).lowercased()
            if name == "transfer-encoding", value.hasSuffix("chunked") { chunked = true }
            if name == "content-length" {
                // A length beyond an Int is refused from the head by RequestLimitHandler.
                guard let parsed = Int(value), parsed >= 0 else { return .stopped }
                length = parsed
            }
        }
        if chunked { return .chunkSize([]) }
        return length > 0 ? .fixed(remaining: length) : .head([])
    }
}
