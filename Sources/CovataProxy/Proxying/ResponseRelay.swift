import CurlClient
import NIOCore

/// Carries one transfer's events from the curl thread to the connection's event loop, in order.
final class ResponseRelay: CurlTransferDelegate {
    private let handler: NIOLoopBound<ForwardingHandler>
    private let eventLoop: any EventLoop

    init(handler: ForwardingHandler, eventLoop: any EventLoop) {
        self.handler = NIOLoopBound(handler, eventLoop: eventLoop)
        self.eventLoop = eventLoop
    }

    func transfer(_ transfer: CurlTransfer, didReceiveHead head: CurlResponseHead) {
        let handler = self.handler
        eventLoop.execute { handler.value.upstreamHead(head, transfer: transfer) }
    }

    func transfer(_ transfer: CurlTransfer, didReceiveBody body: ByteBuffer) {
        let handler = self.handler
        eventLoop.execute { handler.value.upstreamBody(body, transfer: transfer) }
    }

    func transferCanAcceptMoreBody(_ transfer: CurlTransfer) {
        let handler = self.handler
        eventLoop.execute { handler.value.resumeReading(transfer: transfer) }
    }

    func transfer(_ transfer: CurlTransfer, didCompleteWith result: Result<Void, CurlError>) {
        let handler = self.handler
        eventLoop.execute { handler.value.upstreamDone(result, transfer: transfer) }
    }
}
