import CurlClient
import NIOCore

/// Carries one transfer's events from the curl thread to the connection's event loop, in order: one hop per
/// batch the worker produced, so a small answer costs one wakeup of the event loop, not three.
final class ResponseRelay: CurlTransferDelegate {
    private let handler: NIOLoopBound<ForwardingHandler>
    private let eventLoop: any EventLoop

    init(handler: ForwardingHandler, eventLoop: any EventLoop) {
        self.handler = NIOLoopBound(handler, eventLoop: eventLoop)
        self.eventLoop = eventLoop
    }

    func transfer(_ transfer: CurlTransfer, didProduce events: [CurlTransferEvent]) {
        let handler = self.handler
        eventLoop.execute { handler.value.upstream(events, transfer: transfer) }
    }
}
