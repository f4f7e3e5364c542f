import NIOCore
import NIOHTTP1

/// One admin connection: answers each request from `AdminEndpoints`, ignoring request bodies. The same Host and
/// browser rule as the routes applies: `/status` and `/metrics` name the token's jti, the upstreams and versions,
/// which a web page must not read through DNS rebinding.
final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let endpoints: AdminEndpoints
    private let listen: ListenAddress
    private let cycle: ConnectionCycle
    private var head: HTTPRequestHead?

    init(endpoints: AdminEndpoints, listen: ListenAddress, cycle: ConnectionCycle) {
        self.endpoints = endpoints
        self.listen = listen
        self.cycle = cycle
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            cycle.enter(.readingBody)
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            cycle.enter(.awaitingResponse)
            // RFC 9110 §7.4 and §15.5.20, as on the routes (RequestScreen steps 2 and 3).
            if let host = head.headers.first(name: "host"),
                !RequestScreen.hostNames(host, listen: listen)
            {
                refuse(.misdirected(host: host), keepAlive: head.isKeepAlive, context: context)
                return
            }
            if RequestScreen.isFromBrowser(head.headers) {
                refuse(
                    .callerRefused(
                        code: "browser_request_refused", message: "web pages may not read the admin listener"),
                    keepAlive: head.isKeepAlive, context: context)
                return
            }
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

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ClientTimeout.headTooSlow:
            // The one 408, to no request: head and body without the end part, which NIO's pipelining handler would
            // take for the answer to a request it never saw; the connection closes once they are out.
            cycle.enter(.awaitingResponse)
            let (status, _, headers, body) = ProxyError.requestTimeout.response
            var fields = headers
            fields.add(name: "Content-Length", value: "\(body.count)")
            fields.add(name: "Connection", value: "close")
            let head = HTTPResponseHead(version: .http1_1, status: status, headers: fields)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body))))).whenComplete { _ in
                channel.close(promise: nil)
            }
        case ClientTimeout.bodyStalled:
            // Nothing here reads bodies, so the connection just goes.
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func refuse(_ error: ProxyError, keepAlive: Bool, context: ChannelHandlerContext) {
        let (status, _, _, body) = error.response
        write(status, "application/json", body, keepAlive: keepAlive, context: context)
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
        cycle.enter(.idle)
        let channel = context.channel
        if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
    }
}

@available(*, unavailable)
extension AdminHandler: Sendable {}
