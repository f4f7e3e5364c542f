import NIOCore
import NIOHTTP1
import NIOPosix

/// covata-mock's listener. Start it, read `port`, stop it when done.
public final class CovataMockServer: Sendable {
    public let state: MockState
    public let port: Int
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup

    /// Binds `host:port` (port 0 picks a free one) and starts answering.
    public init(host: String = "127.0.0.1", port: Int = 0, settings: MockSettings = MockSettings()) async throws {
        let state = MockState(settings: settings)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MockHTTPHandler(state: state))
                }
            }
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        self.state = state
        self.group = group
        self.port = channel.localAddress?.port ?? port
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Waits until the listener is closed by `stop()`.
    public func waitUntilClosed() async throws {
        try await channel.closeFuture.get()
    }

    public func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}
