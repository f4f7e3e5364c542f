import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import ProxyConfiguration

/// Binds the admin listener: health, readiness, metrics and status, never on a route listener. It gets the routes'
/// client time limits, so idle and half-sent requests do not hold connections open.
enum AdminListener {
    static func bind(
        _ address: ListenAddress, group: any EventLoopGroup, endpoints: AdminEndpoints, timeouts: TimeoutsConfig,
        gate: ConnectionGate
    ) async throws -> [any Channel] {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Out of descriptors, accepting again at once would fail at once, in a loop: back off a
                    // moment instead (NIO adds this handler only on its async bind path, not this one).
                    try channel.pipeline.syncOperations.addHandlers(
                        AcceptBackoffHandler(shouldForwardIOErrorCaught: false), ConnectionGateHandler(gate: gate))
                }
            }
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let cycle = ConnectionCycle(eventLoop: channel.eventLoop)
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    try pipeline.addHandler(ClientTimeoutHandler(timeouts: timeouts, cycle: cycle), position: .first)
                    try pipeline.addHandler(AdminHandler(endpoints: endpoints, listen: address, cycle: cycle))
                }
            }
        return try await bootstrap.bindAll(to: address)
    }
}
