import CurlClient
import Logging
import NIOCore
import NIOHTTP1
import ProxyObservability
import ProxySupport

/// What `ForwardingHandler` knows of the request in progress: the request, its transfer and token, the body kept for
/// a replay, a held 401, and what the access log and metrics report. Data only: where the exchange is in its life
/// is `ExchangeMachine`'s. Event-loop bound.
///
/// `@exclusivity(unchecked)` on its fields, as on the handler's and on curl's worker-only ones: one thread owns them
/// and no access to one overlaps another (the compiler still checks what it can see); the run-time check cost ~2%
/// of a request's instructions.
final class ExchangeRecord {
    let id: Int
    let head: HTTPRequestHead
    /// How the body reaches curl (fixed at the head, from the client's framing).
    let body: CurlRequestBody
    /// Whether the request lets the connection go on after its answer (the machine decides whether it does).
    let asksKeepAlive: Bool
    /// The path and query to forward (from an origin-form or absolute-form target).
    @exclusivity(unchecked) var pathAndQuery = "/"
    @exclusivity(unchecked) var transfer: (any UpstreamTransfer)?
    /// The token found for the current attempt, which its transfer carries; retired if the upstream rejects it.
    @exclusivity(unchecked) var token: AccessToken?
    /// Body parts that arrived before the transfer existed (while the token was found, or the read went on).
    @exclusivity(unchecked) var waitingBody: [ByteBuffer] = []
    /// 1, or 2 for a replay.
    @exclusivity(unchecked) var attempt = 1
    /// The body as sent so far, while it still fits the replay buffer.
    @exclusivity(unchecked) private var kept: [ByteBuffer] = []
    @exclusivity(unchecked) private(set) var keptBytes = 0
    @exclusivity(unchecked) private var keptAll = true
    /// A 401 held back while the machine learns whether it is `invalid_token`.
    @exclusivity(unchecked) var held: (head: CurlResponseHead, body: ByteBuffer)?
    /// For the access log and metrics.
    let startedAt = NIODeadline.now()
    @exclusivity(unchecked) var upstreamSentAt: NIODeadline?
    /// When the upstream's answer head arrived (the access log's `upstream_ms`).
    @exclusivity(unchecked) var upstreamHeadAt: NIODeadline?
    @exclusivity(unchecked) var status = 0
    /// Body bytes accepted for this request.
    @exclusivity(unchecked) var bytesIn: Int64 = 0
    /// The proxy's own error code when it answered itself (the access log's `error`).
    @exclusivity(unchecked) var errorCode: String?
    @exclusivity(unchecked) var bytesOut: Int64 = 0

    init(id: Int, request: ClientRequestHead, body: CurlRequestBody) {
        self.id = id
        self.head = request.head
        self.asksKeepAlive = request.asksKeepAlive
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

    /// Whether all of the body received is kept (trivially so without a body).
    var bodyKept: Bool { body.isEmpty || keptAll }

    /// The kept body as one piece, for the replay.
    var keptBody: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(keptBytes)
        for part in kept { bytes += part.readableBytesView }
        return bytes
    }

    /// The upstream's head arrived: the latency metric and the access log's `upstream_ms`.
    func upstreamHeadArrived(metrics: RouteMetrics) {
        guard let sentAt = upstreamSentAt else { return }
        let now = NIODeadline.now()
        upstreamHeadAt = now
        metrics.upstreamLatency(nanoseconds: (now - sentAt).nanoseconds)
    }

    /// The access-log line and the per-request metrics, written once the exchange ends. A request that ended
    /// before any answer (client gone) is logged with status 0.
    func report(client: String, forwarder: Forwarder) {
        let method = head.method.rawValue
        forwarder.routeMetrics.request(
            method: method, status: status, error: errorCode, bytesIn: bytesIn, bytesOut: bytesOut)
        guard forwarder.settings.accessLog else { return }
        let record = AccessRecord(
            route: forwarder.name, client: client, method: method, path: Self.pathWithoutQueryValues(head.uri),
            status: status, error: errorCode, bytesIn: bytesIn, bytesOut: bytesOut,
            durationMilliseconds: Self.milliseconds(NIODeadline.now() - startedAt),
            upstreamMilliseconds: upstreamHeadAt.flatMap { head in upstreamSentAt.map { Self.milliseconds(head - $0) }
            },
            replayed: attempt > 1, jti: token?.jti)
        forwarder.accessLog.write(record)
    }

    /// Milliseconds with microsecond resolution.
    static func milliseconds(_ interval: TimeAmount) -> Double {
        (Double(interval.nanoseconds) / 1000).rounded() / 1000
    }

    /// `/a/b?user=x&id=7` → `/a/b?user&id`: query values can carry personal data or credentials.
    static func pathWithoutQueryValues(_ target: String) -> String {
        // A byte search: Character search segments grapheme clusters, and this runs for every request.
        guard let question = target.firstIndex(ofByte: UInt8(ascii: "?")) else { return target }
        let keys = target[target.index(after: question)...].split(separator: "&").map {
            $0.split(separator: "=", maxSplits: 1).first ?? ""
        }
        return String(target[..<question]) + "?" + keys.joined(separator: "&")
    }
}

@available(*, unavailable)
extension ExchangeRecord: Sendable {}

extension CurlRequestBody {
    /// True when there is nothing to upload.
    var isEmpty: Bool {
        switch self {
        case .none: true
        case .bytes(let bytes): bytes.isEmpty
        case .stream: false
        }
    }
}
