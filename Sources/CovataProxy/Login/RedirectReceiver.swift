import NIOCore
import NIOHTTP1
import NIOPosix

/// A one-shot HTTP listener on the loopback redirect URI (RFC 8252 §7.3): it takes the browser's redirect for this
/// sign-in, shows a page saying what happened, and hands the answer over. Redirects whose state does not match are
/// refused and waited past, so a page elsewhere cannot inject its own code.
public final class RedirectReceiver: Sendable {
    private let channel: any Channel
    private let answer: EventLoopPromise<AuthorizationResponse>

    private init(channel: any Channel, answer: EventLoopPromise<AuthorizationResponse>) {
        self.channel = channel
        self.answer = answer
    }

    /// Listens on the request's loopback redirect address.
    public static func start(
        for request: AuthorizationRequest, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws
        -> RedirectReceiver
    {
        guard let loopback = request.redirectURI.loopback else {
            throw LoginError("the redirect URI is not a loopback http:// address; paste the code instead")
        }
        let answer = group.next().makePromise(of: AuthorizationResponse.self)
        let expectedState = request.state
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        RedirectHandler(path: loopback.path, expectedState: expectedState, answer: answer))
                }
            }
            .bind(host: loopback.host == "localhost" ? "127.0.0.1" : loopback.host, port: loopback.port)
            .get()
        return RedirectReceiver(channel: channel, answer: answer)
    }

    /// Waits for the browser's redirect.
    public func response() async throws -> AuthorizationResponse {
        try await answer.futureResult.get()
    }

    /// Stops listening; a pending `response()` fails.
    public func close() async {
        answer.fail(LoginError("the redirect listener was closed"))
        try? await channel.close()
    }
}
