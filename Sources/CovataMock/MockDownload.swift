import NIOCore
import NIOHTTP1

/// `GET /api/v1/download?size=N`: N deterministic bytes (byte i is i mod 251), written as the client reads them.
struct MockDownload {
    static let chunkSize = 64 * 1024
    let size: Int
    /// Close the connection after this many bytes: an upstream dying mid-body.
    let cutAt: Int?
    let state: MockState

    /// The byte at `offset`, so clients can verify a download without holding it.
    public static func byte(at offset: Int) -> UInt8 { UInt8(offset % 251) }

    func start(head: HTTPRequestHead, handler: MockHTTPHandler, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/octet-stream")
        headers.add(name: "Content-Length", value: "\(size)")
        context.write(
            handler.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
            promise: nil)
        if head.method == .HEAD {
            context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        state.downloadStarted()
        writeChunk(from: 0, handler: handler, context: context)
    }

    /// Writes one chunk, then the next when it has left: memory stays at one chunk whatever the size.
    private func writeChunk(from offset: Int, handler: MockHTTPHandler, context: ChannelHandlerContext) {
        if let cutAt, offset >= cutAt {
            state.downloadEnded()
            context.close(promise: nil)
            return
        }
        guard offset < size else {
            state.downloadEnded()
            context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let count = min(Self.chunkSize, size - offset, cutAt.map { $0 - offset } ?? Int.max)
        var buffer = context.channel.allocator.buffer(capacity: count)
        buffer.writeBytes((offset..<(offset + count)).lazy.map(Self.byte(at:)))
        let loopBound = NIOLoopBound((handler, context), eventLoop: context.eventLoop)
        let state = self.state
        context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(buffer)))).whenComplete { result in
            guard case .success = result else {
                state.downloadEnded()  // the client went away
                return
            }
            let (handler, context) = loopBound.value
            writeChunk(from: offset + count, handler: handler, context: context)
        }
    }
}
