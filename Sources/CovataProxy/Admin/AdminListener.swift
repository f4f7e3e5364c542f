import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Binds the admin listener: health, readiness, metrics and status, never on a route listener.
enum AdminListener {
    static func bind(_ address: ListenAddress, group: any EventLoopGroup, endpoints: AdminEndpoints) async throws
        -> any Channel
    {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminHandler(endpoints: endpoints))
                }
            }
        return try await bootstrap.bind(to: address)
    }
}
