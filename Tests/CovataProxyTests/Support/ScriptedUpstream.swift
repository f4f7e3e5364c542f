import NIOCore
import NIOPosix
import Synchronization

/// A TCP server that answers each request head with scripted raw bytes, for upstreams that misbehave in ways a real
/// HTTP server library would not let us write. Counts connections and requests.
final class ScriptedUpstream: Sendable {
    /// The answer to the n-th request (the last one repeats), and whether to close the connection after it.
    struct Reply: Sendable {
        var bytes: String
        var close = false
        /// Sent instead of `bytes` when set: for bytes a String cannot hold (not UTF-8).
        var raw: [UInt8]? = nil
    }

    private struct Counts {
        var connections = 0
        var requests = 0
    }

    private let counts = Mutex(Counts())
    private let replies: [Reply]
    private let channel = Mutex<(any Channel)?>(nil)

    var connections: Int { counts.withLock { $0.connections } }
    var requests: Int { counts.withLock { $0.requests } }
    var port: Int { channel.withLock { $0?.localAddress?.port ?? 0 } }

    init(_ replies: [Reply]) {
        self.replies = replies
    }

    func start(host: String = "127.0.0.1", port: Int = 0) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(upstream: self))
                }
            }
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port).get()
        channel.withLock { $0 = server }
    }

    func stop() async {
        try? await channel.withLock { $0 }?.close()
    }

    fileprivate func connected() { counts.withLock { $0.connections += 1 } }

    fileprivate func nextReply() -> Reply {
        let index = counts.withLock { counts in
            counts.requests += 1
            return counts.requests - 1
        }
        return replies[min(index, replies.count - 1)]
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let upstream: ScriptedUpstream
        var pending: [UInt8] = []

        init(upstream: ScriptedUpstream) { self.upstream = upstream }

        func channelActive(context: ChannelHandlerContext) {
            upstream.connected()
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            pending += unwrapInboundIn(data).readableBytesView
            while let end = pending.firstRange(of: Array("\r\n\r\n".utf8)) {
                pending.removeSubrange(..<end.upperBound)
                let reply = upstream.nextReply()
                let write = context.writeAndFlush(
                    wrapOutboundOut(reply.raw.map { ByteBuffer(bytes: $0) } ?? ByteBuffer(string: reply.bytes)))
                if reply.close {
                    let channel = context.channel
                    write.whenComplete { _ in channel.close(promise: nil) }
                    return
                }
            }
        }
    }
}
