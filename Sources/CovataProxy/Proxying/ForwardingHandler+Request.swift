import CurlClient
import NIOCore
import NIOHTTP1
import ProxySupport

/// Starting a request: checks, the token, then the curl transfer.
extension ForwardingHandler {
    func begin(_ head: HTTPRequestHead, id: Int, context: ChannelHandlerContext) {
        let admitted = forwarder.budget.beginRequest()
        let framing = bodyFraming(head)
        let body: CurlRequestBody
        if case .success(let value) = framing { body = value } else { body = .none }
        let exchange = Exchange(id: id, head: head, body: body)
        self.exchange = exchange
        cycle.enter(body.isEmpty ? .awaitingResponse : .readingBody)
        guard admitted else {
            forwarder.metrics.overloaded()
            fail(exchange, .overloaded)
            return
        }
        if head.method == .CONNECT {
            // Never a tunnel: this is not a forward proxy. The answer closes the connection (the request has not
            // ended: NIO's parser reads nothing after a CONNECT head).
            fail(exchange, .connectNotSupported)
            return
        }
        if head.method == .TRACE {
            // TRACE would echo the request back, and with it the injected credential (RFC 9110 §9.3.8).
            fail(exchange, .methodNotAllowed("TRACE is not forwarded"))
            return
        }
        // RFC 9112 §3.2: exactly one Host in an HTTP/1.1 request (also not two in one field, comma-separated).
        if head.version == .http1_1, !Self.hasOneValidHost(head.headers) {
            fail(exchange, .badRequest("an HTTP/1.1 request needs exactly one valid Host header"))
            return
        }
        switch RequestTarget.resolve(head.uri, route: forwarder.route) {
        case .failure(let error):
            fail(exchange, error)
            return
        case .success(let pathAndQuery):
            exchange.pathAndQuery = pathAndQuery
        }
        if let refusal = RequestScreen.check(head, pathAndQuery: exchange.pathAndQuery, route: forwarder.route) {
            fail(exchange, refusal)
            return
        }
        if case .failure(let error) = framing {
            fail(exchange, error)
            return
        }
        if head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }),
            head.version == .http1_1, !body.isEmpty
        {
            context.writeAndFlush(
                wrapOutboundOut(.head(OwnAnswers.continueHead)),
                promise: nil)
        }
        fetchTokenAndSend(exchange, context: context)
    }

    /// Gets a token without blocking the event loop, then starts the transfer. Body parts that arrive meanwhile
    /// are queued (reads are held back so the queue stays small).
    func fetchTokenAndSend(_ exchange: Exchange, context: ChannelHandlerContext) {
        blockReads()
        // The common case: a valid token with no refresh due, without leaving the event loop.
        if let token = forwarder.tokens.cachedToken() {
            // A body may follow in the same read and turn out malformed: then nothing must have gone upstream.
            if !exchange.body.isEmpty, deferIfReading(token, exchangeID: exchange.id) { return }
            tokenReady(.success(token), exchangeID: exchange.id)
            return
        }
        let tokens = forwarder.tokens
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let id = exchange.id
        Task {
            let result = await tokens.tokenResult()
            eventLoop.execute { handler.value.tokenReady(result, exchangeID: id) }
        }
    }

    func tokenReady(_ result: Result<AccessToken, TokenError>, exchangeID: Int) {
        // A refusal (a parser error in the rest of the read) may have answered it meanwhile.
        guard let exchange, exchange.id == exchangeID, !exchange.failed, let context else { return }
        let token: AccessToken
        switch result {
        case .failure(let error):
            unblockReads()
            fail(exchange, .tokenUnavailable(error))
            return
        case .success(let value):
            token = value
        }
        // A replay sends the kept body in one piece; a first attempt streams what the client sends.
        let body: CurlRequestBody =
            exchange.replayed && !exchange.body.isEmpty ? .bytes(exchange.keptBody) : exchange.body
        let request = CurlRequest(
            method: exchange.head.method.rawValue,
            url: forwarder.upstreamURL(for: exchange.pathAndQuery),
            headers: HeaderPolicy.upstreamRequestHeaders(
                exchange.head.headers, bearer: token.value.value,
                callerProof: forwarder.route.access.requiredHeader?.name),
            body: body,
            connectTimeoutMilliseconds: forwarder.connectTimeoutMilliseconds)
        exchange.token = token
        exchange.upstreamSentAt = .now()
        let transfer = forwarder.worker.start(
            request, delegate: ResponseRelay(handler: self, eventLoop: context.eventLoop))
        exchange.transfer = transfer
        var accepting = true
        if !exchange.replayed {
            for part in exchange.pendingBody { accepting = transfer.send(part) && accepting }
            exchange.pendingBody.removeAll()
        }
        if exchange.requestEnded {
            transfer.finishSending()
            startFirstByteTimer(exchange)
        }
        if accepting { unblockReads() }
    }

    private static func hasOneValidHost(_ headers: HTTPHeaders) -> Bool {
        var found: String?
        for (name, value) in headers where name.equalsIgnoringASCIICase("host") {
            guard found == nil else { return false }
            found = value
        }
        guard let host = found, !host.isEmpty else { return false }
        return !host.utf8.contains { byte in
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "/"), UInt8(ascii: "@"), UInt8(ascii: ","): true
            default: false
            }
        }
    }

    /// RFC 9112 §6.3: the framing the client used decides how the body reaches curl.
    private func bodyFraming(_ head: HTTPRequestHead) -> Result<CurlRequestBody, ProxyError> {
        let encodings = head.headers[canonicalForm: "transfer-encoding"]
        // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
        if !encodings.isEmpty, head.version != .http1_1 {
            return .failure(.badRequest("Transfer-Encoding in an HTTP/1.0 request"))
        }
        if !encodings.isEmpty {
            guard encodings.map({ $0.lowercased() }) == ["chunked"] else {
                return .failure(.notImplemented("Transfer-Encoding other than chunked"))
            }
            return .success(.stream(length: nil))
        }
        let lengths = head.headers[canonicalForm: "content-length"]
        guard let first = lengths.first else { return .success(.none) }
        guard Set(lengths).count == 1, let length = Int64(first), length >= 0 else {
            return .failure(.badRequest("invalid Content-Length"))
        }
        guard length <= forwarder.limits.maxRequestBodyBytes else { return .failure(.payloadTooLarge) }
        return .success(length == 0 ? .bytes([]) : .stream(length: length))
    }
}

extension CurlRequestBody {
    /// True when there is nothing to upload.
    var isEmpty: Bool {
        switch self {
        case .none: true
        case .bytes(let bytes): bytes.isEmpty
        case .stream: false
        }
    }
}
