import Hummingbird
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Guards every HTTP/1 connection of `vigil serve` before a request reaches a handler.
///
/// - A declared `Content-Length` over the limit is answered 413 at once, before any of the body
///   is read, and the connection is closed.
/// - A streamed (chunked) body that grows past the limit is cut there: the handler reading it
///   answers 413, and the connection closes once that answer is out.
/// - A chunk that declares more than the limit (seen by ``ChunkSizeGuard``) is answered 413 at once.
/// - A request the parser cannot read (a chunk size that overflows, too many or too large
///   headers, broken framing) is answered with the JSON error shape, 431 or 400, and closed.
/// - A client that is slow to send its head (``Limits/headTimeout``) or its body
///   (``Limits/bodyTimeout``) is answered 408 and closed, so it cannot hold a connection open.
final class RequestLimitHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    struct Limits: Sendable {
        var maximumBodyBytes: Int
        var headTimeout: TimeAmount = .seconds(10)
        var bodyTimeout: TimeAmount = .seconds(120)
        /// How long a refused client has to read the answer before the connection is closed.
        var answerGrace: TimeAmount = .seconds(2)
    }

    private enum Reading {
        /// Between requests: waiting for a head.
        case awaitingHead
        /// Inside a request's body, with the bytes received so far.
        case body(received: Int)
        /// Past the limit: nothing more of this connection reaches the handlers.
        case cut
    }

    private let limits: Limits
    private var reading = Reading.awaitingHead
    /// A response head has gone out and its end has not.
    private var responding = false
    private var closeAfterResponse = false
    private var finishing = false
    private var deadline: Scheduled<Void>?

    init(limits: Limits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // The chunk sizes are only visible in the raw bytes, before the HTTP parser.
        try? context.pipeline.syncOperations.addHandler(ChunkSizeGuard(maximumBodyBytes: limits.maximumBodyBytes), position: .first)
        if context.channel.isActive { armDeadline(context, limits.headTimeout, "the request head did not arrive within") }
    }

    func channelActive(context: ChannelHandlerContext) {
        armDeadline(context, limits.headTimeout, "the request head did not arrive within")
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (reading, part) {
        case (.cut, _):
            return
        case let (_, .head(head)):
            if let declared = head.headerFields[.contentLength], Self.exceeds(declared, limits.maximumBodyBytes) {
                reading = .cut
                refuse(context, .contentTooLarge, "body_too_large",
                       "the body (Content-Length \(declared.prefix(30))) is larger than the server's limit of \(limits.maximumBodyBytes) bytes (--max-body)")
                return
            }
            reading = .body(received: 0)
            armDeadline(context, limits.bodyTimeout, "the request body did not arrive within")
            context.fireChannelRead(data)
        case let (.body(received), .body(buffer)):
            let total = received + buffer.readableBytes
            // The chunk that crosses the limit still goes through, so the handler sees the overrun and answers 413.
            reading = total > limits.maximumBodyBytes ? .cut : .body(received: total)
            context.fireChannelRead(data)
            if total > limits.maximumBodyBytes { finishAfterAnswer(context) }
        case (_, .end):
            reading = .awaitingHead
            deadline?.cancel()
            deadline = nil
            context.fireChannelRead(data)
        case (.awaitingHead, .body):
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head:
            responding = true
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            responding = false
            guard closeAfterResponse else {
                context.write(data, promise: promise)
                return
            }
            let bound = bind(context)
            context.writeAndFlush(data).whenComplete { result in
                bound.value.handler.finish(bound.value.context)
                promise?.completeWith(result)
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChunkSizeGuard.Exceeded else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        reading = .cut
        refuse(context, .contentTooLarge, "body_too_large",
               "a chunk of the body declares \(event.declared) bytes, more than the server's limit of \(limits.maximumBodyBytes) bytes (--max-body)")
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        reading = .cut
        switch error {
        case .headerOverflow:
            refuse(context, .requestHeaderFieldsTooLarge, "headers_too_large", "the request headers are too many or too large (at most 100 fields, 64 KiB in all)")
        case .invalidChunkSize:
            refuse(context, .badRequest, "bad_request", "the chunked body is malformed: a chunk size is not a valid size")
        default:
            refuse(context, .badRequest, "bad_request", "the request is not valid HTTP/1.1 (\(error))")
        }
    }

    /// Answers with a JSON error and closes, unless a handler's answer is already going out:
    /// then the connection closes after it.
    private func refuse(_ context: ChannelHandlerContext, _ status: HTTPResponse.Status, _ code: String, _ message: String) {
        guard !finishing else { return }
        deadline?.cancel()
        deadline = nil
        guard !responding else {
            finishAfterAnswer(context)
            return
        }
        closeAfterResponse = true
        let body = JSONResponse.errorBody(status, code: code, message)
        let head = HTTPResponse(status: status, headerFields: [
            .contentType: "application/json", .contentLength: String(body.readableBytes), .connection: "close",
        ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let bound = bind(context)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.handler.finish(bound.value.context) }
    }

    /// Closes the connection once the handler's answer (to a body it found too large) is out; a
    /// handler that never answers gets ``Limits/answerGrace``.
    private func finishAfterAnswer(_ context: ChannelHandlerContext) {
        closeAfterResponse = true
        deadline?.cancel()
        let bound = bind(context)
        deadline = context.eventLoop.scheduleTask(in: limits.answerGrace) { bound.value.handler.finish(bound.value.context) }
    }

    /// Ends the connection without losing the answer: the output is shut first, and what the client
    /// still sends is read and dropped for ``Limits/answerGrace``. Closing at once with unread input
    /// makes the kernel reset the connection, and the client may never see the answer.
    private func finish(_ context: ChannelHandlerContext) {
        guard !finishing else { return }
        finishing = true
        reading = .cut
        deadline?.cancel()
        context.close(mode: .output, promise: nil)
        let bound = bind(context)
        deadline = context.eventLoop.scheduleTask(in: limits.answerGrace) { bound.value.context.close(promise: nil) }
    }

    private func armDeadline(_ context: ChannelHandlerContext, _ timeout: TimeAmount, _ what: String) {
        deadline?.cancel()
        let seconds = timeout.nanoseconds / 1_000_000_000
        let bound = bind(context)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            handler.reading = .cut
            handler.refuse(context, .requestTimeout, "request_timeout", "\(what) \(seconds) s; the connection is closed")
        }
    }

    /// The handler and its context for a callback: callbacks run on the channel's event loop,
    /// where both live, and `NIOLoopBound` checks that they do.
    private func bind(_ context: ChannelHandlerContext) -> NIOLoopBound<(handler: RequestLimitHandler, context: ChannelHandlerContext)> {
        NIOLoopBound((self, context), eventLoop: context.eventLoop)
    }

    /// Whether a `Content-Length` value is over `limit`; one too long for an `Int` is.
    static func exceeds(_ declared: String, _ limit: Int) -> Bool {
        guard let length = Int(declared) else { return true }
        return length > limit
    }
}
