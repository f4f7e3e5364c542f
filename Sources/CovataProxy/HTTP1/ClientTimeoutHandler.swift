import NIOCore
import ProxyConfiguration

/// Performs the client time limits `ClientClock` decides, in front of the HTTP decoder so it sees raw bytes: it
/// feeds the clock the connection's reads and the loop's time, runs the connection's one timer, and sends
/// `ClientTimeout` inbound to the connection's handler, which writes the one 408 (an answer from its catalog) and
/// closes: this handler knows time, not answers.
final class ClientTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = NIOAny

    private let cycle: ConnectionCycle
    private var clock: ClientClock
    private var timer: Scheduled<Void>?

    init(timeouts: TimeoutsConfig, cycle: ConnectionCycle, minUploadBytesPerSecond: Int = 0) {
        self.cycle = cycle
        clock = ClientClock(timeouts: timeouts, minUploadBytesPerSecond: minUploadBytesPerSecond)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { run(clock.started(now: context.eventLoop.now), context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if timer == nil { run(clock.started(now: context.eventLoop.now), context: context) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        clock.bytesRead(unwrapInboundIn(data).readableBytes, cycle: cycle.position, now: context.eventLoop.now)
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        clock.readCompleted(cycle: cycle.position, now: context.eventLoop.now)
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        clock.readRequested(now: context.eventLoop.now)
        context.read()
    }

    private func run(_ action: ClientClock.Action, context: ChannelHandlerContext) {
        switch action {
        case .schedule(let time):
            schedule(at: time, context: context)
        case .timedOut(let timeout, let next):
            schedule(at: next, context: context)
            context.fireUserInboundEventTriggered(timeout)
        case .close:
            timer = nil
            context.close(promise: nil)
        }
    }

    private func schedule(at time: NIODeadline, context: ChannelHandlerContext) {
        let handler = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: time) {
            let (handler, context) = handler.value
            // The loop's clock: the real one in production, a hand-moved one in EmbeddedEventLoop tests.
            handler.run(
                handler.clock.fired(cycle: handler.cycle.position, now: context.eventLoop.now), context: context)
        }
    }
}

@available(*, unavailable)
extension ClientTimeoutHandler: Sendable {}
