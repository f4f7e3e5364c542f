import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Binds one route's listener (TCP or unix socket) with an HTTP/1.1 pipeline in front of a `ForwardingHandler`.
enum RouteListener {
    static let readSizes = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 256 * 1024)

    static func bind(
        _ address: ListenAddress, group: any EventLoopGroup, forwarder: Forwarder, timeouts: TimeoutsConfig
    ) async throws -> any Channel {
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldSize = forwarder.limits.maxHeaderBytes
        decoderLimits.maxHeaderListSize = forwarder.limits.maxHeaderBytes
        decoderLimits.maxHeaderFieldCount = forwarder.limits.maxHeaderCount
        let limits = decoderLimits
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A client's FIN ends its requests, not our answers (see ForwardingHandler+HalfClose).
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            // Reads grow up to 256 KiB while a client streams a body (NIO's default stops at 64 KiB); small
            // requests keep small buffers.
            .childChannelOption(.recvAllocator, value: Self.readSizes)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    let cycle = ConnectionCycle(eventLoop: channel.eventLoop)
                    try pipeline.addHandler(ClientTimeoutHandler(timeouts: timeouts, cycle: cycle))
                    try pipeline.addHandler(RequestLineGuard())
                    // NIO's request parser, our response encoder (see `ResponseEncoder`). Pipelined requests are
                    // queued by ForwardingHandler, which never pauses reading for the rest.
                    try pipeline.addHandler(ResponseEncoder())
                    try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(limitConfiguration: limits)))
                    try pipeline.addHandler(ForwardingHandler(forwarder: forwarder, cycle: cycle))
                }
            }
        // A unix socket's mode says who on this machine may connect, and so act as the Covata user (default: the
        // owner only); it is set before the socket can be reached.
        return try await bootstrap.bind(to: address, socketMode: forwarder.route.access.socketMode)
    }
}
