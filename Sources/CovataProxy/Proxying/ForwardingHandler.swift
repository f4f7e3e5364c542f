import CurlClient
import NIOCore
import NIOHTTP1

/// One client connection on a route: reads requests, forwards each through curl, streams the answer back.
///
/// Backpressure both ways: reads from the client stop while curl's upload queue is full, and curl pauses
/// receiving while too much of the response is still unwritten to the client (see `CurlTransfer`).
final class ForwardingHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ClientResponsePart
    typealias OutboundOut = ClientResponsePart

    let forwarder: Forwarder
    let cycle: ConnectionCycle
    var context: ChannelHandlerContext?
    var exchange: Exchange?
    /// Set once an answer ends the connection: requests pipelined behind it are never started (RFC 9112 §9.6).
    var closing = false
    /// Parts of requests sent while one was in progress, in order (see `ForwardingHandler+Pipelining`).
    var pipelined = CircularBuffer<HTTPServerRequestPart>()
    /// The connection's one first-byte timer (see `startFirstByteTimer`).
    var firstByteTimer: Scheduled<Void>?
    /// The client shut down its sending side (see `ForwardingHandler+HalfClose`).
    var inputClosed = false
    /// When the last answer written so far is out, so a close never cuts it short.
    var lastAnswerEnd: EventLoopFuture<Void>?
    /// Who is connected, for the access log: the peer's IP address, or `unix`.
    var client = "-"
    /// Inside a read's parts (head, body, end): a transfer whose token was at hand waits for the read's end, so a
    /// malformed body in the same bytes as its head is refused before anything went upstream.
    private var reading = false
    var deferredStart: (exchangeID: Int, token: AccessToken)?
    private var nextExchangeID = 0
    private var readBlocked = false
    private var pendingRead = false

    init(forwarder: Forwarder, cycle: ConnectionCycle) {
        self.forwarder = forwarder
        self.cycle = cycle
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopFirstByteTimer()
        self.context = nil
    }

    func read(context: ChannelHandlerContext) {
        if readBlocked || !pipelined.isEmpty { pendingRead = true } else { context.read() }
    }

    func channelActive(context: ChannelHandlerContext) {
        forwarder.metrics.connectionOpened()
        switch context.channel.remoteAddress {
        case .unixDomainSocket?: client = "unix"
        case let address?: client = address.ipAddress ?? "-"
        case nil: break
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        forwarder.metrics.connectionClosed()
        stopFirstByteTimer()
        pipelined.removeAll()
        // A client that goes away cancels its upstream transfer.
        if let exchange {
            exchange.transfer?.cancel()
            end(exchange)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parserError = error as? HTTPParserError {
            parserFailed(parserError, context: context)
            return
        }
        context.fireErrorCaught(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ClientTimeoutHandler.BodyTimedOut, let exchange {
            fail(exchange, .requestTimeout)
            return
        }
        if case .inputClosed? = event as? ChannelEvent {
            clientFinishedSending()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading = true
        let part = unwrapInboundIn(data)
        if holdsPipelined(part) { return }
        handle(part, context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        if let (id, token) = deferredStart {
            deferredStart = nil
            tokenReady(.success(token), exchangeID: id)
        }
        context.fireChannelReadComplete()
    }

    /// Whether a transfer about to start should wait for the end of the read in progress (see `reading`).
    func deferIfReading(_ token: AccessToken, exchangeID: Int) -> Bool {
        guard reading else { return false }
        deferredStart = (exchangeID, token)
        return true
    }

    func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            guard !closing else { return }
            nextExchangeID += 1
            begin(head, id: nextExchangeID, context: context)
        case .body(let buffer):
            guard let exchange, !exchange.failed else { return }
            exchange.bodyBytes += Int64(buffer.readableBytes)
            guard exchange.bodyBytes <= forwarder.limits.maxRequestBodyBytes else {
                fail(exchange, .payloadTooLarge)
                return
            }
            exchange.keep(buffer, limit: forwarder.limits.replayBufferBytes, budget: forwarder.budget)
            if let transfer = exchange.transfer {
                if !transfer.send(buffer) { blockReads() }
            } else {
                exchange.pendingBody.append(buffer)
            }
        case .end:
            guard let exchange else { return }
            exchange.requestEnded = true
            cycle.enter(.awaitingResponse)
            if let transfer = exchange.transfer {
                transfer.finishSending()
                startFirstByteTimer(exchange)
            }
            finishIfDone(exchange)
        }
    }

    func blockReads() { readBlocked = true }

    func unblockReads() {
        readBlocked = false
        resumeReadsIfWanted()
    }

    /// Reads again if a read was asked for while blocked, and nothing blocks it any more.
    func resumeReadsIfWanted() {
        guard !readBlocked, pipelined.isEmpty, pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }

    /// Forgets an exchange once both its request and its response have ended; a pipelined request may start.
    func finishIfDone(_ exchange: Exchange) {
        guard exchange.requestEnded, exchange.responseEnded else { return }
        end(exchange)
        cycle.enter(.idle)
        if !pipelined.isEmpty { startPipelinedSoon() }
    }

    private func end(_ exchange: Exchange) {
        guard self.exchange === exchange else { return }
        self.exchange = nil
        forwarder.budget.endRequest()
        forwarder.budget.releaseReplay(exchange.keptBytes)
        record(exchange)
    }
}

@available(*, unavailable)
extension ForwardingHandler: Sendable {}
