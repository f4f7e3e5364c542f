import NIOCore
import ProxyConfiguration
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
            if RequestScreen.isFromBrowser(head.headers, fields: RequestFields(head.headers)) {
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
            // The one 408, to no request: without the end part, which NIO's pipelining handler would take for the
            // answer to a request it never saw.
            cycle.enter(.awaitingResponse)
            refuse(.requestTimeout, keepAlive: false, answersARequest: false, context: context)
        case ClientTimeout.bodyStalled:
            // Nothing here reads bodies, so the connection just goes.
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func refuse(
        _ error: ProxyError, keepAlive: Bool, answersARequest: Bool = true, context: ChannelHandlerContext
    ) {
        let (status, _, _, body) = error.response
        write(
            status, "application/json", body, keepAlive: keepAlive, answersARequest: answersARequest, context: context)
    }

    /// `answersARequest` false: no end part follows the body (see the slow head above); the answer is out once its
    /// body is.
    private func write(
        _ status: HTTPResponseStatus, _ contentType: String, _ body: [UInt8], keepAlive: Bool,
        answersARequest: Bool = true, context: ChannelHandlerContext
    ) {
        var headers = HTTPHeaders([
            ("Content-Type", contentType), ("Content-Length", "\(body.count)"), ("Cache-Control", "no-store"),
        ])
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        var done = context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))))
        if answersARequest {
            done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            cycle.enter(.idle)
        } else {
            context.flush()
        }
        let channel = context.channel
        if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
    }
}

@available(*, unavailable)
extension AdminHandler: Sendable {}
