import CurlClient
import NIOCore
import NIOHTTP1

/// One request/response pair on a client connection. Event-loop bound.
final class Exchange {
    let id: Int
    let head: HTTPRequestHead
    /// Whether the connection stays open after this exchange; turned off when the answer must end it.
    var keepAlive: Bool
    /// How the body reaches curl (fixed at the head, from the client's framing).
    let body: CurlRequestBody
    /// The path and query to forward (from an origin-form or absolute-form target).
    var pathAndQuery: String = "/"
    var transfer: CurlTransfer?
    /// The token the current transfer carries, to invalidate it if the upstream rejects it.
    var token: AccessToken?
    /// Body parts that arrived before the transfer existed (while the token was fetched).
    var pendingBody: [ByteBuffer] = []
    var bodyBytes: Int64 = 0
    /// The body as sent so far, while it still fits the replay buffer.
    var kept: [ByteBuffer] = []
    var keptBytes = 0
    var keptAll = true
    var requestEnded = false
    var responseHeadSent = false
    var responseEnded = false
    /// An error answer was sent: the rest of the request body is read and dropped.
    var failed = false
    /// A 401 held back while we learn whether it is `invalid_token`, and whether we already replayed once.
    var heldUnauthorized: (head: CurlResponseHead, body: ByteBuffer)?
    var replayed = false
    /// When the upstream must have started its answer (set once the request is sent).
    var firstByteDeadline: NIODeadline?
    /// For the access log and metrics.
    let startedAt = NIODeadline.now()
    var upstreamSentAt: NIODeadline?
    /// When the upstream's answer head arrived (the access log's `upstream_ms`).
    var upstreamHeadAt: NIODeadline?
    var status = 0
    /// The proxy's own error code when it answered itself (the access log's `error`).
    var errorCode: String?
    var bytesOut: Int64 = 0

    init(id: Int, head: HTTPRequestHead, body: CurlRequestBody) {
        self.id = id
        self.head = head
        // NIO's parser stops at a request asking to upgrade (e.g. Java's h2c attempt); we never upgrade, so such a
        // connection is closed after its answer and the client's next request opens a fresh one.
        let asksUpgrade =
            head.headers.contains(name: "upgrade")
            && HeaderPolicy.connectionOptions(head.headers).contains("upgrade")
        self.keepAlive = head.isKeepAlive && !asksUpgrade
        self.body = body
    }

    /// Records a body part for a possible replay, giving up once the request's buffer or the process-wide budget
    /// would overflow (what was kept goes back to the budget; the ending exchange returns the rest).
    func keep(_ buffer: ByteBuffer, limit: Int, budget: RequestBudget) {
        guard keptAll else { return }
        let count = buffer.readableBytes
        guard keptBytes + count <= limit, budget.reserveReplay(count) else {
            keptAll = false
            budget.releaseReplay(keptBytes)
            keptBytes = 0
            kept.removeAll()
            return
        }
        keptBytes += count
        kept.append(buffer)
    }

    /// Whether the whole request can be sent again: no body, or all of it kept and received.
    var isReplayable: Bool {
        if case .none = body { return true }
        return keptAll && requestEnded
    }

    /// The kept body as one piece, for the replay.
    var keptBody: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(keptBytes)
        for part in kept { bytes += part.readableBytesView }
        return bytes
    }
}

@available(*, unavailable)
extension Exchange: Sendable {}
