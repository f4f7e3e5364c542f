import CurlClient
import NIOCore

/// What the forwarding handler needs from beyond its connection, as two protocols: an upstream client (curl's
/// `CurlWorker`) and a token source (`TokenManager`). Both answer through callbacks, which the handler hops back to
/// its event loop; tests put scripted ones in their place and answer when they choose.
protocol UpstreamClient: Sendable {
    /// Starts a transfer. `events` gets each batch of its events, in order, on any thread.
    func start(_ request: CurlRequest, events: @escaping @Sendable ([CurlTransferEvent]) -> Void)
        -> any UpstreamTransfer
}

/// One transfer in flight, as the handler drives it (see `CurlTransfer`).
protocol UpstreamTransfer: AnyObject, Sendable {
    /// Queues body bytes; false when the queue is past its high-water mark (wait for `.uploadDrained`).
    func send(_ buffer: ByteBuffer) -> Bool
    func finishSending()
    func cancel()
    /// `count` bytes of the answer have left for the client: curl may receive more.
    func didConsume(_ count: Int)
    /// How many body bytes may wait in the transfer (less while many uploads stream): the handler reads the
    /// client's body in pieces no larger.
    var uploadDepth: Int { get }
}

protocol TokenSource: Sendable {
    /// A valid token with no renewal due, without waiting (the usual request's only token work).
    func cachedToken() -> AccessToken?
    /// A token, or why there is none, once known.
    func fetchToken(then done: @escaping @Sendable (Result<AccessToken, TokenError>) -> Void)
    /// The upstream refused `token` at `resource`; `done(replaced)`: another token is current or on its way.
    func retire(
        _ token: AccessToken, resource: String, replaying: Bool, then done: @escaping @Sendable (Bool) -> Void)
    /// A token on probation for `resource` was accepted there.
    func reportAccepted(_ token: AccessToken, resource: String)
}

extension CurlTransfer: UpstreamTransfer {}

extension CurlWorker: UpstreamClient {
    func start(_ request: CurlRequest, events: @escaping @Sendable ([CurlTransferEvent]) -> Void)
        -> any UpstreamTransfer
    {
        start(request, delegate: EventsDelegate(events))
    }
}

/// curl's delegate for a transfer started through `UpstreamClient`: passes each batch on.
private final class EventsDelegate: CurlTransferDelegate {
    private let events: @Sendable ([CurlTransferEvent]) -> Void

    init(_ events: @escaping @Sendable ([CurlTransferEvent]) -> Void) { self.events = events }

    func transfer(_ transfer: CurlTransfer, didProduce events: [CurlTransferEvent]) { self.events(events) }
}

extension TokenManager: TokenSource {
    nonisolated func fetchToken(then done: @escaping @Sendable (Result<AccessToken, TokenError>) -> Void) {
        Task { done(await tokenResult()) }
    }

    nonisolated func retire(
        _ token: AccessToken, resource: String, replaying: Bool, then done: @escaping @Sendable (Bool) -> Void
    ) {
        Task { done(await invalidate(token, resource: resource, replaying: replaying)) }
    }

    nonisolated func reportAccepted(_ token: AccessToken, resource: String) {
        Task { await accepted(token, resource: resource) }
    }
}
