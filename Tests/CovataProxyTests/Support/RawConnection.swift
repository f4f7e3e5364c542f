import NIOCore
import NIOPosix

/// A client connection driven step by step: write some bytes, read until enough has arrived, write more.
/// For keep-alive, pipelining and `Expect: 100-continue` tests.
final class RawConnection {
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private(set) var received: [UInt8] = []
    private(set) var closedByPeer = false

    private init(
        inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) {
        self.inbound = inbound
        self.outbound = outbound
    }

    /// As `with(port:_:)`, to `[::1]`.
    static func withIPv6<T>(port: Int, _ body: (RawConnection) async throws -> T) async throws -> T {
        try await with(port: port, host: "::1", body)
    }

    /// Connects, runs `body`, and closes the connection whatever happens.
    /// - Parameter first: written on the event loop the moment the connection is up, for tests whose client limits
    ///   are shorter than a loaded test run may take to schedule the test's own first write.
    static func with<T>(
        port: Int, host: String = "127.0.0.1", sendingFirst first: String? = nil,
        _ body: (RawConnection) async throws -> T
    ) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let first { try channel.pipeline.syncOperations.addHandler(SendWhenActive(first)) }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(RawConnection(inbound: inbound.makeAsyncIterator(), outbound: outbound))
        }
    }

    func write(_ text: String) async throws { try await write(Array(text.utf8)) }

    func write(_ bytes: [UInt8]) async throws { try await outbound.write(ByteBuffer(bytes: bytes)) }

    /// Reads until `enough` is true of everything received so far, or the peer closes.
    func read(until enough: ([UInt8]) -> Bool) async throws {
        while !enough(received) {
            guard let chunk = try await inbound.next() else {
                closedByPeer = true
                return
            }
            received += chunk.readableBytesView
        }
    }

    /// Reads until the text has appeared `count` times.
    func read(untilSeen text: String, count: Int = 1) async throws {
        let needle = Array(text.utf8)
        try await read { bytes in
            var seen = 0
            var start = bytes.startIndex
            while let range = bytes[start...].firstRange(of: needle) {
                seen += 1
                start = range.upperBound
            }
            return seen >= count
        }
    }

    var text: String { String(decoding: received, as: UTF8.self) }
}

/// Writes its bytes as the connection becomes active, then passes everything on.
private final class SendWhenActive: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let text: String

    init(_ text: String) { self.text = text }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text)), promise: nil)
        context.fireChannelActive()
    }
}
