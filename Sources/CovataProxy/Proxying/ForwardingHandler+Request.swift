import CurlClient
import NIOCore
import NIOHTTP1

/// Starting a request: checks, the token, then the curl transfer.
extension ForwardingHandler {
    func begin(_ exchange: Exchange, context: ChannelHandlerContext) {
        let head = exchange.head
        if head.method == .CONNECT {
            fail(exchange, .methodNotAllowed("CONNECT cannot carry the Covata credential; use http:// URLs or the route's base URL"))
            return
        }
        guard head.uri.hasPrefix("/") else {
            fail(exchange, .badRequest("expected an origin-form request target starting with /"))
            return
        }
        let body: CurlRequestBody
        switch bodyFraming(head) {
        case .failure(let error):
            fail(exchange, error)
            return
        case .success(let framing):
            body = framing
        }
        if head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }),
            head.version == .http1_1
        {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
        }
        // Hold the body back until the transfer exists.
        blockReads()
        let tokens = forwarder.tokens
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let id = exchange.id
        Task {
            let result = await tokens.tokenResult()
            eventLoop.execute { handler.value.tokenReady(result, exchangeID: id, body: body) }
        }
    }

    private func tokenReady(_ result: Result<AccessToken, TokenError>, exchangeID: Int, body: CurlRequestBody) {
        guard let exchange, exchange.id == exchangeID, let context else { return }
        let token: AccessToken
        switch result {
        case .failure(let error):
            unblockReads()
            fail(exchange, .tokenUnavailable(error))
            return
        case .success(let value):
            token = value
        }
        let request = CurlRequest(
            method: exchange.head.method.rawValue,
            url: forwarder.upstreamURL(for: exchange.head.uri),
            headers: HeaderPolicy.upstreamRequestHeaders(exchange.head.headers, bearer: token.value.value),
            body: body,
            connectTimeoutMilliseconds: forwarder.connectTimeoutMilliseconds)
        let transfer = forwarder.worker.start(request, delegate: ResponseRelay(handler: self, eventLoop: context.eventLoop))
        exchange.transfer = transfer
        var accepting = true
        for part in exchange.pendingBody { accepting = transfer.send(part) && accepting }
        exchange.pendingBody.removeAll()
        if exchange.requestEnded { transfer.finishSending() }
        if accepting { unblockReads() }
    }

    /// RFC 9112 §6.3: chunked wins over Content-Length only as an error; a request with neither has no body.
    private func bodyFraming(_ head: HTTPRequestHead) -> Result<CurlRequestBody, ProxyError> {
        let encodings = head.headers[canonicalForm: "transfer-encoding"]
        if !encodings.isEmpty {
            guard encodings.map({ $0.lowercased() }) == ["chunked"] else {
                return .failure(.badRequest("unsupported Transfer-Encoding"))
            }
            return .success(.stream(length: nil))
        }
        let lengths = head.headers[canonicalForm: "content-length"]
        guard let first = lengths.first else { return .success(.none) }
        guard Set(lengths).count == 1, let length = Int64(first), length >= 0 else {
            return .failure(.badRequest("invalid Content-Length"))
        }
        return .success(length == 0 ? .bytes([]) : .stream(length: length))
    }
}
