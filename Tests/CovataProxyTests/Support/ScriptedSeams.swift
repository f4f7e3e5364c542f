import CurlClient
import NIOCore
import Synchronization

@testable import CovataProxy
@testable import ProxyConfiguration
@testable import CurlClient

/// The forwarding handler's two seams, scripted: transfers that record what the handler asked for and deliver the
/// events a test chooses, and a token source that answers when the test says. Used from the test's thread only
/// (with an `EmbeddedChannel`, the handler runs there too).
final class ScriptedCurl: UpstreamClient, @unchecked Sendable {  // test-thread only, as the embedded event loop
    private(set) var transfers: [ScriptedTransfer] = []

    func start(_ request: CurlRequest, events: @escaping @Sendable ([CurlTransferEvent]) -> Void)
        -> any UpstreamTransfer
    {
        let transfer = ScriptedTransfer(request: request, events: events)
        transfers.append(transfer)
        return transfer
    }
}

final class ScriptedTransfer: UpstreamTransfer, @unchecked Sendable {  // test-thread only
    let request: CurlRequest
    private let events: @Sendable ([CurlTransferEvent]) -> Void
    /// What `send` answers: false says curl's upload queue is full.
    var acceptsMore = true
    private(set) var sent: [UInt8] = []
    private(set) var finished = false
    private(set) var cancelled = false
    private(set) var consumed = 0
    var uploadDepth = 256 * 1024

    init(request: CurlRequest, events: @escaping @Sendable ([CurlTransferEvent]) -> Void) {
        self.request = request
        self.events = events
    }

    func send(_ buffer: ByteBuffer) -> Bool {
        sent += buffer.readableBytesView
        return acceptsMore
    }

    func finishSending() { finished = true }
    func cancel() { cancelled = true }
    func didConsume(_ count: Int) { consumed += count }

    /// One batch of events, as curl's worker would hand it over (the handler hops to its event loop).
    func deliver(_ batch: [CurlTransferEvent]) { events(batch) }

    var authorization: String? { request.headers.last { $0.name.lowercased() == "authorization" }?.value }
}

final class ScriptedTokens: TokenSource, @unchecked Sendable {  // test-thread only
    /// What `cachedToken` finds; nil sends the handler to `fetchToken`.
    var cached: AccessToken?
    private(set) var fetches: [@Sendable (Result<AccessToken, TokenError>) -> Void] = []
    private(set) var retired: [(token: String, resource: String, replaying: Bool, done: @Sendable (Bool) -> Void)] = []
    private(set) var accepted: [String] = []

    init(cached: AccessToken?) { self.cached = cached }

    func cachedToken() -> AccessToken? { cached }

    func fetchToken(then done: @escaping @Sendable (Result<AccessToken, TokenError>) -> Void) {
        fetches.append(done)
    }

    func retire(
        _ token: AccessToken, resource: String, replaying: Bool, then done: @escaping @Sendable (Bool) -> Void
    ) {
        retired.append((token.value.value, resource, replaying, done))
    }

    func reportAccepted(_ token: AccessToken, resource: String) { accepted.append(resource) }

    static func token(_ value: String) -> AccessToken {
        AccessToken(value: Secret(value), refreshToken: nil, jti: value, scope: nil, lifetime: 300, obtainedAt: 0)
    }
}

/// An upstream answer head as curl's head parser makes it from the lines the upstream sent.
func upstreamHead(_ status: Int, _ fields: [(String, String)] = [], reason: String = "Reason") -> CurlResponseHead {
    var parser = CurlHeadParser()
    let lines = ["HTTP/1.1 \(status) \(reason)"] + fields.map { "\($0.0): \($0.1)" } + [""]
    for line in lines {
        if let head = Array((line + "\r\n").utf8).withUnsafeBytes({ parser.feed($0) }) { return head }
    }
    fatalError("not a head: \(lines)")
}
