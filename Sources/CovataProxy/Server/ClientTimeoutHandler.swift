import NIOCore

/// Time limits on what a client sends, in front of the HTTP decoder so it sees raw bytes:
/// - idle keep-alive connections are closed after `clientIdleSeconds`;
/// - once a request's first byte arrives, its whole head must follow within `clientHeaderSeconds` (a deadline, not
///   reset by more bytes, so a slow drip cannot hold the connection), else 408 and close;
/// - a request body may pause at most `clientBodyIdleSeconds`, else `ForwardingHandler` answers 408.
final class ClientTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent inbound when a request body stalled.
    struct BodyTimedOut: Sendable {}

    /// Sent outbound to write a complete answer as raw bytes and close: for answers NIO's encoder would cut
    /// short (it sends no body at all after a CONNECT request, even for an error).
    struct RawAnswer: Sendable {
        let bytes: ByteBuffer
    }

    private static let timeoutResponse = ByteBuffer(
        string: "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")

    private let timeouts: TimeoutsConfig
    private var phase = ConnectionPhase.idle
    private var headStarted = false
    private var timer: Scheduled<Void>?

    init(timeouts: TimeoutsConfig) {
        self.timeouts = timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(seconds: timeouts.clientIdleSeconds, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(seconds: timeouts.clientIdleSeconds, context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .idle where !headStarted:
            headStarted = true
            arm(seconds: timeouts.clientHeaderSeconds, context: context)
        case .readingBody:
            arm(seconds: timeouts.clientBodyIdleSeconds, context: context)
        default:
            break
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if let answer = event as? RawAnswer {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(answer.bytes)).whenComplete { _ in channel.close(promise: nil) }
            promise?.succeed()
            return
        }
        guard let phase = event as? ConnectionPhase else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        self.phase = phase
        switch phase {
        case .idle:
            headStarted = false
            arm(seconds: timeouts.clientIdleSeconds, context: context)
        case .readingBody:
            arm(seconds: timeouts.clientBodyIdleSeconds, context: context)
        case .awaitingResponse:
            timer?.cancel()
            timer = nil
        }
        promise?.succeed()
    }

    private func arm(seconds: Double, context: ChannelHandlerContext) {
        timer?.cancel()
        let handler = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            let (handler, context) = handler.value
            handler.fire(context: context)
        }
    }

    private func fire(context: ChannelHandlerContext) {
        timer = nil
        switch phase {
        case .idle where headStarted:
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(Self.timeoutResponse)).whenComplete { _ in
                channel.close(promise: nil)
            }
        case .idle:
            context.close(promise: nil)
        case .readingBody:
            context.fireUserInboundEventTriggered(BodyTimedOut())
        case .awaitingResponse:
            break
        }
    }
}

@available(*, unavailable)
extension ClientTimeoutHandler: Sendable {}
