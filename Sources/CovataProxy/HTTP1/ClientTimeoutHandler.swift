import NIOCore

/// Time limits on what a client sends, in front of the HTTP decoder so it sees raw bytes:
/// - idle keep-alive connections are closed after `clientIdleSeconds`;
/// - once a request's first byte arrives, its whole head must follow within `clientHeaderSeconds` (a deadline, not
///   reset by more bytes, so a slow drip cannot hold the connection), else `ClientTimeout.headTooSlow`;
/// - a request body may pause at most `clientBodyIdleSeconds`, else `ClientTimeout.bodyStalled`.
/// The events go inbound to the connection's handler, which writes the one 408 (an answer from its catalog) and
/// closes: this handler knows time, not answers.
///
/// One timer per connection, never moved per request: it fires at least every `granule` (the shortest limit) and
/// then works out the deadline from the connection's cycle. No deadline is ever later than the pending firing, so
/// a request only records times.
final class ClientTimeoutHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let cycle: ConnectionCycle
    private let headerLimit: TimeAmount
    private let bodyIdleLimit: TimeAmount
    private let idleLimit: TimeAmount
    private let granule: TimeAmount
    /// The round of the cycle whose request head has started arriving, and when it started.
    private var headRound = -1
    private var headStartedAt = NIODeadline.now()
    private var lastBodyBytesAt = NIODeadline.now()
    private var timer: Scheduled<Void>?

    init(timeouts: TimeoutsConfig, cycle: ConnectionCycle) {
        self.cycle = cycle
        headerLimit = .milliseconds(Int64(timeouts.clientHeaderSeconds * 1000))
        bodyIdleLimit = .milliseconds(Int64(timeouts.clientBodyIdleSeconds * 1000))
        idleLimit = .milliseconds(Int64(timeouts.clientIdleSeconds * 1000))
        granule = min(headerLimit, bodyIdleLimit, idleLimit)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { schedule(at: context.eventLoop.now + granule, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if timer == nil { schedule(at: context.eventLoop.now + granule, context: context) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch cycle.phase {
        case .idle where headRound != cycle.rounds:
            headRound = cycle.rounds
            headStartedAt = context.eventLoop.now
        case .readingBody:
            lastBodyBytesAt = context.eventLoop.now
        default:
            break
        }
        context.fireChannelRead(data)
    }

    /// When the limit of the current phase runs out; nil while the client waits on us.
    private var deadline: NIODeadline? {
        switch cycle.phase {
        case .idle where headRound == cycle.rounds: headStartedAt + headerLimit
        case .idle: cycle.since + idleLimit
        case .readingBody: max(cycle.since, lastBodyBytesAt) + bodyIdleLimit
        case .awaitingResponse: nil
        }
    }

    private func schedule(at time: NIODeadline, context: ChannelHandlerContext) {
        let handler = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: time) {
            let (handler, context) = handler.value
            handler.fire(context: context)
        }
    }

    private func fire(context: ChannelHandlerContext) {
        // The loop's clock: the real one in production, a hand-moved one in EmbeddedEventLoop tests.
        let now = context.eventLoop.now
        guard let deadline, deadline <= now else {
            schedule(at: min(deadline ?? .distantFuture, now + granule), context: context)
            return
        }
        switch cycle.phase {
        case .idle where headRound == cycle.rounds:
            // The handler answers 408 and closes; keep checking in case the connection lingers.
            schedule(at: now + granule, context: context)
            context.fireUserInboundEventTriggered(ClientTimeout.headTooSlow)
        case .idle:
            timer = nil
            context.close(promise: nil)
        case .readingBody:
            // The forwarding handler answers 408 and closes; keep checking in case the connection lingers.
            schedule(at: now + granule, context: context)
            context.fireUserInboundEventTriggered(ClientTimeout.bodyStalled)
        case .awaitingResponse:
            schedule(at: now + granule, context: context)
        }
    }
}

@available(*, unavailable)
extension ClientTimeoutHandler: Sendable {}

/// A client time limit ran out (see `ClientTimeoutHandler`); sent inbound to the connection's handler.
enum ClientTimeout: Sendable {
    /// A request head did not arrive in full within `clientHeaderSeconds` of its first byte.
    case headTooSlow
    /// A request body paused longer than `clientBodyIdleSeconds`.
    case bodyStalled
}
