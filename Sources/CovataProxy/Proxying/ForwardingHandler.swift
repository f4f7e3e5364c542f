import CurlClient
import NIOCore
import NIOHTTP1

/// One client connection on a route: reads requests, forwards each through curl, streams the answer back.
///
/// Backpressure both ways: reads from the client stop while curl's upload queue is full, and curl pauses
/// receiving while too much of the response is still unwritten to the client (see `CurlTransfer`).
final class ForwardingHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let forwarder: Forwarder
    var context: ChannelHandlerContext?
    var exchange: Exchange?
    private var nextExchangeID = 0
    private var readBlocked = false
    private var pendingRead = false

    init(forwarder: Forwarder) {
        self.forwarder = forwarder
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func read(context: ChannelHandlerContext) {
        if readBlocked { pendingRead = true } else { context.read() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A client that goes away cancels its upstream transfer.
        if let exchange {
            exchange.transfer?.cancel()
            end(exchange)
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            nextExchangeID += 1
            if let previous = self.exchange { end(previous) }
            let exchange = Exchange(id: nextExchangeID, head: head)
            self.exchange = exchange
            forwarder.inFlight.begin()
            begin(exchange, context: context)
        case .body(let buffer):
            guard let exchange, !exchange.failed else { return }
            if let transfer = exchange.transfer {
                if !transfer.send(buffer) { blockReads() }
            } else {
                exchange.pendingBody.append(buffer)
            }
        case .end:
            guard let exchange else { return }
            exchange.requestEnded = true
            exchange.transfer?.finishSending()
            finishIfDone(exchange)
        }
    }

    func blockReads() { readBlocked = true }

    func unblockReads() {
        readBlocked = false
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    /// Forgets an exchange once both its request and its response have ended.
    func finishIfDone(_ exchange: Exchange) {
        guard exchange.requestEnded, exchange.responseEnded else { return }
        end(exchange)
    }

    private func end(_ exchange: Exchange) {
        guard self.exchange === exchange else { return }
        self.exchange = nil
        forwarder.inFlight.end()
    }
}

@available(*, unavailable)
extension ForwardingHandler: Sendable {}
