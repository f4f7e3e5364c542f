import CurlClient
import NIOCore
import NIOHTTP1
import ProxySupport

/// Sending answers to the client: upstream responses as they stream, and our own error answers.
extension ForwardingHandler {
    /// The largest 401 body held back while deciding on a replay (Covata's are a few hundred bytes).
    static let heldBodyLimit = 64 * 1024

    /// One batch of a transfer's events: everything is written, then flushed once (one write to the socket for a
    /// small answer).
    func upstream(_ events: [CurlTransferEvent], transfer: CurlTransfer) {
        if upstreamWhole(events, transfer: transfer) {
            context?.flush()
            return
        }
        for event in events {
            switch event {
            case .head(let head): upstreamHead(head, transfer: transfer)
            case .body(let body): upstreamBody(body, transfer: transfer)
            case .canAcceptMoreBody: resumeReading(transfer: transfer)
            case .completed(let result): upstreamDone(result, transfer: transfer)
            }
        }
        context?.flush()
    }

    /// The usual small answer, whole in one batch (head, at most one body part, success): written as one part
    /// and one buffer. False, having done nothing, for anything else.
    private func upstreamWhole(_ events: [CurlTransferEvent], transfer: CurlTransfer) -> Bool {
        guard events.count <= 3, case .head(let head)? = events.first, case .completed(.success)? = events.last,
            let exchange, exchange.transfer === transfer, let context
        else { return false }
        var body = ByteBuffer()
        if events.count == 3 {
            guard case .body(let only) = events[1] else { return false }
            body = only
        }
        // A 401 may be a revoked token, decided by its body, and may echo the token: the general path holds it.
        guard head.status != 401 else { return false }
        // No didConsume: the transfer has ended, so curl waits for nothing these bytes could release.
        recordUpstreamLatency(exchange)
        exchange.bytesOut += Int64(body.readableBytes)
        var answer = clientAnswer(head, exchange: exchange)
        answer.completeBody = body
        answered(exchange, done: context.write(wrapOutboundOut(.head(answer))))
        return true
    }

    private func upstreamHead(_ head: CurlResponseHead, transfer: CurlTransfer) {
        guard let exchange, exchange.transfer === transfer else { return }
        recordUpstreamLatency(exchange)
        if head.status == 401 {
            // Maybe the token was revoked: hold the answer until its body tells us (and to take the token out).
            exchange.heldUnauthorized = (head, ByteBuffer())
            return
        }
        sendHead(head, exchange: exchange)
    }

    private func recordUpstreamLatency(_ exchange: Exchange) {
        guard let sentAt = exchange.upstreamSentAt else { return }
        let now = NIODeadline.now()
        exchange.upstreamHeadAt = now
        forwarder.routeMetrics.upstreamLatency(nanoseconds: (now - sentAt).nanoseconds)
    }

    private func sendHead(_ head: CurlResponseHead, exchange: Exchange) {
        guard let context else { return }
        context.write(wrapOutboundOut(.head(clientAnswer(head, exchange: exchange))), promise: nil)
    }

    /// The client's head for an upstream answer, its fields through the header policy; the answer counts as started.
    private func clientAnswer(_ head: CurlResponseHead, exchange: Exchange) -> ClientResponseHead {
        let answer = clientHead(
            status: head.status, reason: head.reason, upstreamFields: clientFields(head, exchange: exchange),
            exchange: exchange)
        exchange.responseHeadSent = true
        exchange.status = head.status
        return answer
    }

    /// An upstream answer's fields through the header policy, with URLs that point back at Covata pointed at the
    /// proxy: on a base-URL route only (origin-form requests); in forward-proxy mode the client already sends those
    /// hosts through the proxy.
    private func clientFields(_ head: CurlResponseHead, exchange: Exchange) -> HeaderFields {
        var fields = HeaderPolicy.clientResponseFields(head)
        guard forwarder.route.rewriteRedirects, exchange.head.uri.utf8.first == UInt8(ascii: "/"),
            RedirectRewriter.mentionsURLs(fields), let rewriter = forwarder.redirects.current
        else { return fields }
        // The Host the client used, when this route accepts it: the address it knows the proxy by.
        let host = exchange.head.headers.first(name: "host").flatMap {
            RequestScreen.hostNamesListener($0, route: forwarder.route) ? $0 : nil
        }
        var unixRoutes: [String] = []
        rewriter.rewrite(&fields, own: forwarder.index, clientHost: host, unixRoutes: &unixRoutes)
        for route in unixRoutes where forwarder.redirects.firstWarning(for: route) {
            forwarder.logger.notice(
                "answer points at a route on a unix socket; URL left unchanged", metadata: ["route": "\(route)"])
        }
        return fields
    }

    /// The answer to `exchange` has been written in full (`done` completes once it is out).
    private func answered(_ exchange: Exchange, done: EventLoopFuture<Void>) {
        exchange.responseEnded = true
        answerEnded(done, closesConnection: !exchange.keepAlive || !exchange.requestEnded)
        finishIfDone(exchange)
    }

    /// Any answer's head: the body framed for this client, and Connection where the client needs to be told.
    private func clientHead(
        status: Int, reason: String, upstreamFields: HeaderFields = HeaderFields(),
        headers: [(name: String, value: String)] = [], exchange: Exchange
    ) -> ClientResponseHead {
        let hasLength =
            upstreamFields.contains("content-length")
            || headers.contains { $0.name.equalsIgnoringASCIICase("content-length") }
        let framing = ResponseBodyFraming.forAnswer(
            status: status, method: exchange.head.method, version: exchange.head.version, hasContentLength: hasLength)
        var headers = headers
        // RFC 9112 §6.3 rule 8: a body that ends with the connection ends the connection.
        if framing == .untilClose { exchange.keepAlive = false }
        if !exchange.keepAlive {
            headers.append(("Connection", "close"))
            // RFC 9112 §9.6: nothing pipelined behind an answer that closes the connection is started.
            closing = true
        } else if exchange.head.version == .http1_0 {
            // RFC 9112 §9.3: an HTTP/1.0 client keeps the connection only if the answer says so.
            headers.append(("Connection", "keep-alive"))
        }
        return ClientResponseHead(
            status: status, reason: reason, upstreamFields: upstreamFields, headers: headers, framing: framing)
    }

    private func upstreamBody(_ body: ByteBuffer, transfer: CurlTransfer) {
        guard let exchange, exchange.transfer === transfer, let context else {
            transfer.didConsume(body.readableBytes)
            return
        }
        if var held = exchange.heldUnauthorized {
            held.body.writeImmutableBuffer(body)
            exchange.heldUnauthorized = held
            transfer.didConsume(body.readableBytes)
            // Too big to be Covata's token error: stop holding and stream it as it is.
            if held.body.readableBytes > Self.heldBodyLimit { releaseHeld(exchange) }
            return
        }
        let count = body.readableBytes
        exchange.bytesOut += Int64(count)
        // Curl may receive more only once these bytes have left for the client.
        context.write(wrapOutboundOut(.body(body))).whenComplete { _ in
            transfer.didConsume(count)
        }
    }

    private func releaseHeld(_ exchange: Exchange) {
        guard let (head, body) = exchange.heldUnauthorized, let context else { return }
        exchange.heldUnauthorized = nil
        sendHead(head, exchange: exchange)
        exchange.bytesOut += Int64(body.readableBytes)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
    }

    private func resumeReading(transfer: CurlTransfer) {
        guard let exchange, exchange.transfer === transfer else { return }
        unblockReads()
    }

    private func upstreamDone(_ result: Result<Void, CurlError>, transfer: CurlTransfer) {
        guard let exchange, exchange.transfer === transfer, let context else { return }
        if case .success = result, let (head, body) = exchange.heldUnauthorized {
            exchange.heldUnauthorized = nil
            if TokenRejection.isInvalidToken(head: head, body: body), let rejected = exchange.token {
                if exchange.isReplayable, !exchange.replayed {
                    replayOrRelay(exchange, rejected: rejected, head: head, body: body, context: context)
                    return
                }
                // Not replayable (or already replayed): relayed, but the token is still retired (if current) so the
                // client's next request gets a fresh one.
                let tokens = forwarder.tokens
                Task { await tokens.invalidate(rejected) }
            }
            relayUnauthorized(exchange, head: head, body: body)
            return
        }
        switch result {
        case .success:
            answered(exchange, done: context.write(wrapOutboundOut(.end)))
        case .failure(let error):
            if exchange.responseHeadSent {
                // HTTP/1.1 cannot signal a broken body; closing without the end marker tells the client.
                forwarder.logger.warning("upstream failed mid-response", metadata: ["curl_code": "\(error.code)"])
                // What was written in this batch goes out first: a client must see a truncated answer, never none
                // (it might retry a request the upstream already acted on).
                context.flush()
                context.close(promise: nil)
            } else {
                forwarder.logger.warning(
                    "upstream request failed", metadata: ["curl_code": "\(error.code)", "reason": "\(error.message)"])
                fail(exchange, ProxyError(error))
            }
        }
    }

    /// The upstream rejected the token: retire it, and send the request once more if that gives it a different
    /// token. A token renewed moments ago is kept (see `minRenewalIntervalSeconds`) and the 401 relayed instead.
    private func replayOrRelay(
        _ exchange: Exchange, rejected: AccessToken, head: CurlResponseHead, body: ByteBuffer,
        context: ChannelHandlerContext
    ) {
        exchange.transfer = nil
        exchange.firstByteDeadline = nil
        let tokens = forwarder.tokens
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let id = exchange.id
        Task {
            let replaced = await tokens.invalidate(rejected)
            eventLoop.execute {
                let handler = handler.value
                guard let exchange = handler.exchange, exchange.id == id, let context = handler.context else { return }
                guard replaced else {
                    handler.relayUnauthorized(exchange, head: head, body: body)
                    context.flush()
                    return
                }
                exchange.replayed = true
                handler.forwarder.metrics.replayed()
                handler.forwarder.logger.info(
                    "upstream rejected the token; replaying once", metadata: ["jti": "\(rejected.jti ?? "-")"])
                handler.fetchTokenAndSend(exchange, context: context)
            }
        }
    }

    /// A held 401, whole, with the token it rejected taken out of its fields and body: Covata's error answers
    /// echo it ("Invalid access token: eyJ…"), and the client must never see the credential.
    private func relayUnauthorized(_ exchange: Exchange, head: CurlResponseHead, body: ByteBuffer) {
        guard let context else { return }
        let token = exchange.token?.value.value ?? ""
        var fields = clientFields(head, exchange: exchange)
        fields.removeAll { $0.equalsIgnoringASCIICase("content-length") }
        fields.rewriteValues { _, value in TokenRejection.redacting(token, in: value) }
        let cleanBody =
            TokenRejection.redacting(token, in: body.readableBytesView).map { ByteBuffer(bytes: $0) } ?? body
        var answer = clientHead(
            status: head.status, reason: head.reason, upstreamFields: fields,
            headers: [("Content-Length", "\(cleanBody.readableBytes)")], exchange: exchange)
        exchange.responseHeadSent = true
        exchange.status = head.status
        answer.completeBody = cleanBody
        if answer.framing != .none { exchange.bytesOut += Int64(cleanBody.readableBytes) }
        answered(exchange, done: context.write(wrapOutboundOut(.head(answer))))
    }

    /// Answers with our own error. The connection closes unless the request was read to its end.
    func fail(_ exchange: Exchange, _ error: ProxyError) {
        guard let context, !exchange.responseHeadSent else {
            // Too late for an answer: the only honest signal left is closing the connection.
            self.context?.close(promise: nil)
            return
        }
        exchange.failed = true
        exchange.heldUnauthorized = nil
        exchange.transfer?.cancel()
        let (status, code, headers, body) = error.response
        exchange.errorCode = code
        var fields = headers.map { ($0.name, $0.value) }
        fields.append(("Content-Length", "\(body.count)"))
        if !exchange.requestEnded { exchange.keepAlive = false }
        var head = clientHead(
            status: Int(status.code), reason: status.reasonPhrase, headers: fields, exchange: exchange)
        // A HEAD answer (framing `.none`) announces the length but carries no body; the encoder leaves it out.
        head.completeBody = ByteBuffer(bytes: body)
        if head.framing != .none { exchange.bytesOut += Int64(body.count) }
        exchange.responseHeadSent = true
        exchange.status = Int(status.code)
        answered(exchange, done: context.writeAndFlush(wrapOutboundOut(.head(head))))
    }
}
