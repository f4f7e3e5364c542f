import CurlClient
import NIOCore
import NIOHTTP1

/// One request/response pair on a client connection. Event-loop bound.
final class Exchange {
    let id: Int
    let head: HTTPRequestHead
    let keepAlive: Bool
    var transfer: CurlTransfer?
    /// Body parts that arrived before the transfer existed (while the token was fetched).
    var pendingBody: [ByteBuffer] = []
    var requestEnded = false
    var responseHeadSent = false
    var responseEnded = false
    /// An error answer was sent: the rest of the request body is read and dropped.
    var failed = false

    init(id: Int, head: HTTPRequestHead) {
        self.id = id
        self.head = head
        self.keepAlive = head.isKeepAlive
    }
}

@available(*, unavailable)
extension Exchange: Sendable {}
