import CurlClient
import NIOCore

/// Carries one transfer's events from the curl thread to the connection's event loop, in order: one hop per
/// batch the worker produced, so a small answer costs one wakeup of the event loop, not three. The ticket tells the
/// handler's machine which attempt of which exchange the events belong to.
final class ResponseRelay: CurlTransferDelegate {
    private let handler: NIOLoopBound<ForwardingHandler>
    private let ticket: ExchangeMachine.Ticket
    private let eventLoop: any EventLoop

    init(handler: ForwardingHandler, ticket: ExchangeMachine.Ticket, eventLoop: any EventLoop) {
        self.handler = NIOLoopBound(handler, eventLoop: eventLoop)
        self.ticket = ticket
        self.eventLoop = eventLoop
    }

    func transfer(_ transfer: CurlTransfer, didProduce events: [CurlTransferEvent]) {
        let handler = self.handler
        let ticket = self.ticket
        eventLoop.execute { handler.value.upstream(events, ticket: ticket, transfer: transfer) }
    }
}
