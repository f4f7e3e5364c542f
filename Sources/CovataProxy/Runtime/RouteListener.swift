import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import ProxyConfiguration

/// Binds one route's listener (TCP or unix socket) with an HTTP/1.1 pipeline in front of a `ForwardingHandler`.
enum RouteListener {
    static func bind(
        _ address: ListenAddress, group: any EventLoopGroup, forwarder: Forwarder, timeouts: TimeoutsConfig,
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
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A client's FIN ends its requests, not our answers (the machine's `inputEnded`).
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.recvAllocator, value: ForwardingHandler.readSizes)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try configure(channel, forwarder: forwarder, timeouts: timeouts)
                }
            }
        // A unix socket's mode says who on this machine may connect, and so act as the Covata user (default: the
        // owner only); it is set before the socket can be reached.
        return try await bootstrap.bindAll(to: address, socketMode: forwarder.route.access.socketMode)
    }

    /// A client connection's pipeline, in order: time limits on raw bytes, our encoder, our request decoder, the
    /// forwarding handler. Pipelined requests are queued by the forwarding handler's machine,
    /// which never pauses reading for the rest.
    static func configure(_ channel: any Channel, forwarder: Forwarder, timeouts: TimeoutsConfig) throws {
        let pipeline = channel.pipeline.syncOperations
        let cycle = ConnectionCycle(eventLoop: channel.eventLoop)
        try pipeline.addHandler(
            ClientTimeoutHandler(
                timeouts: timeouts, cycle: cycle, minUploadBytesPerSecond: forwarder.limits.minUploadBytesPerSecond))
        try pipeline.addHandler(ResponseEncoder())
        let limits = forwarder.limits
        try pipeline.addHandler(
            RequestDecoder(maxHeaderBytes: limits.maxHeaderBytes, maxHeaderCount: limits.maxHeaderCount))
        try pipeline.addHandler(ForwardingHandler(forwarder: forwarder, cycle: cycle))
    }
}
