import NIOCore

/// Time limits on what a client sends, in front of the HTTP decoder so it sees raw bytes:
/// - idle keep-alive connections are closed after `clientIdleSeconds`;
/// - once a request's first byte arrives, its whole head must follow within `clientHeaderSeconds` (a deadline, not
///   reset by more bytes, so a slow drip cannot hold the connection), else `ClientTimeout.headTooSlow`;
/// - a request body may pause at most `clientBodyIdleSeconds`, and must average `minUploadBytesPerSecond` over each
///   `clientBodyIdleSeconds`, else `ClientTimeout.bodyStalled` (a byte a second never pauses, but would hold a
///   request slot for as long as its sender likes);
/// - a new connection must start its first request within `clientFirstRequestSeconds`, else it is closed.
/// The events go inbound to the connection's handler, which writes the one 408 (an answer from its catalog) and
/// closes: this handler knows time, not answers.
///
/// One timer per connection, never moved per request: it fires at least every `granule` (the shortest limit) and
/// then works out the deadline from the connection's cycle. No deadline is ever later than the pending firing, so
/// a request only records times.
final class ClientTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = NIOAny

    private let cycle: ConnectionCycle
    private let headerLimit: TimeAmount
    private let bodyIdleLimit: TimeAmount
    private let idleLimit: TimeAmount
    private let firstRequestLimit: TimeAmount
    private let granule: TimeAmount
    /// Bytes a body must bring in each window of `bodyIdleLimit` (0: no rate is required).
    private let bytesPerWindow: Int
    /// The round of the cycle whose request head has started arriving, and when it started.
    private var headRound = -1
    private var headStartedAt = NIODeadline.now()
    private var lastBodyBytesAt = NIODeadline.now()
    /// The body rate's window: which body it belongs to (its phase's start), when it began, what it brought.
    private var windowBody: NIODeadline?
    private var windowStart = NIODeadline.now()
    private var windowBytes = 0
    /// Since when the handlers behind this one hold reads back (curl's upload queue is full: the upstream is slow,
    /// not the client); the body's clocks stand still meanwhile.
    private var readsHeldSince: NIODeadline?
    private var timer: Scheduled<Void>?

    init(timeouts: TimeoutsConfig, cycle: ConnectionCycle, minUploadBytesPerSecond: Int = 0) {
        self.cycle = cycle
        headerLimit = .milliseconds(Int64(timeouts.clientHeaderSeconds * 1000))
        bodyIdleLimit = .milliseconds(Int64(timeouts.clientBodyIdleSeconds * 1000))
        idleLimit = .milliseconds(Int64(timeouts.clientIdleSeconds * 1000))
        firstRequestLimit = min(idleLimit, .milliseconds(Int64(timeouts.clientFirstRequestSeconds * 1000)))
        granule = min(headerLimit, bodyIdleLimit, firstRequestLimit)
        bytesPerWindow = Int(Double(minUploadBytesPerSecond) * timeouts.clientBodyIdleSeconds)
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
            startWindowIfNewBody()
            windowBytes += unwrapInboundIn(data).readableBytes
        default:
            break
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // The next read is asked for right after this, unless the handlers behind hold it back. Only a body's
        // clocks care, so requests without one pay nothing for this.
        if case .readingBody = cycle.phase { readsHeldSince = context.eventLoop.now }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if let since = readsHeldSince {
            // Time spent waiting on us is not the client's: its clocks move on by as much.
            let held = context.eventLoop.now - since
            lastBodyBytesAt = lastBodyBytesAt + held
            windowStart = windowStart + held
            readsHeldSince = nil
        }
        context.read()
    }

    /// When the limit of the current phase runs out; nil while the client waits on us.
    private var deadline: NIODeadline? {
        switch cycle.phase {
        case .idle where headRound == cycle.rounds: headStartedAt + headerLimit
        // A connection that has not sent its first request yet has the shorter limit.
        case .idle: cycle.since + (cycle.rounds == 0 ? firstRequestLimit : idleLimit)
        case .readingBody:
            bytesPerWindow > 0
                ? min(max(cycle.since, lastBodyBytesAt), bodyWindowStart) + bodyIdleLimit
                : max(cycle.since, lastBodyBytesAt) + bodyIdleLimit
        case .awaitingResponse: nil
        }
    }

    /// The rate window of the body being read.
    private var bodyWindowStart: NIODeadline { windowBody == cycle.since ? windowStart : cycle.since }

    private func startWindowIfNewBody() {
        guard windowBody != cycle.since else { return }
        windowBody = cycle.since
        windowStart = cycle.since
        windowBytes = 0
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
        case .readingBody where readsHeldSince.map({ now - $0 > .milliseconds(1) }) ?? false:
            schedule(at: now + granule, context: context)  // The client waits on us, not we on it.
        case .readingBody:
            startWindowIfNewBody()
            let paused = max(cycle.since, lastBodyBytesAt) + bodyIdleLimit <= now
            guard paused || windowBytes < bytesPerWindow else {
                // A window that brought enough: the next one starts now.
                windowStart = now
                windowBytes = 0
                schedule(at: now + granule, context: context)
                return
            }
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
