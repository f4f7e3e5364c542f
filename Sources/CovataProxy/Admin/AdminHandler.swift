import NIOCore
import NIOHTTP1

/// One admin connection: answers each request from `AdminEndpoints`, ignoring request bodies.
final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let endpoints: AdminEndpoints
    private var head: HTTPRequestHead?

    init(endpoints: AdminEndpoints) {
        self.endpoints = endpoints
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
            let endpoints = self.endpoints
            let handler = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            Task {
                let (status, contentType, body) = await endpoints.respond(method: head.method, path: path)
                eventLoop.execute {
                    let (handler, context) = handler.value
                    handler.write(status, contentType, body, keepAlive: head.isKeepAlive, context: context)
                }
            }
        }
    }

    private func write(
        _ status: HTTPResponseStatus, _ contentType: String, _ body: [UInt8], keepAlive: Bool,
        context: ChannelHandlerContext
    ) {
        var headers = HTTPHeaders([
            ("Content-Type", contentType), ("Content-Length", "\(body.count)"), ("Cache-Control", "no-store"),
        ])
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        let channel = context.channel
        if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
    }
}

@available(*, unavailable)
extension AdminHandler: Sendable {}
