import CurlClient
import NIOCore
import NIOHTTP1
import ProxySupport

/// The data work behind the machine's actions: a request's checks, its token and transfer, and its answer, relayed
/// from the upstream or our own.
extension ForwardingHandler {
    // MARK: - Starting a request

    func check(_ request: ClientRequestHead, exchange id: Int) {
        let admitted = forwarder.budget.beginRequest()
        let head = request.head
        let fields = request.fields
        let framing = RequestScreen.bodyFraming(head, fields: fields, maxBytes: forwarder.limits.maxRequestBodyBytes)
        let body = (try? framing.get()) ?? .none
        let record = ExchangeRecord(id: id, request: request, body: body)
        self.record = record
        let refusal: ProxyError?
        if admitted {
            let screened = RequestScreen.screen(head, fields: fields, framing: framing, route: forwarder.route)
            if let pathAndQuery = screened.pathAndQuery { record.pathAndQuery = pathAndQuery }
            refusal = screened.refusal
        } else {
            forwarder.metrics.overloaded()
            refusal = .overloaded
        }
        if refusal == nil, head.version == .http1_1, !body.isEmpty, fields.has(.expect),
            head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" })
        {
            context?.writeAndFlush(wrapOutboundOut(.head(OwnAnswers.continueHead)), promise: nil)
        }
        // The common case: a valid token with no refresh due, without leaving the event loop.
        if refusal == nil { record.token = forwarder.tokens.cachedToken() }
        run(
            machine.checked(
                refusal: refusal, hasBody: !body.isEmpty, tokenAtHand: record.token != nil,
                keepAlive: record.asksKeepAlive))
    }

    /// A token from the token manager, off the event loop: a request's checks already looked for one at hand, and a
    /// replay wants the one that replaced the token the upstream rejected.
    @inline(never)
    func findToken(exchange id: Int) {
        guard let context else { return }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        forwarder.tokens.fetchToken { result in
            eventLoop.execute { handler.value.tokenFound(result, exchange: id) }
        }
    }

    private func tokenFound(_ result: Result<AccessToken, TokenError>, exchange id: Int) {
        switch result {
        case .success(let token):
            // Kept only for the exchange that asked: a late answer for an ended one is dropped by the machine.
            if record?.id == id { record?.token = token }
            run(machine.tokenArrived(failure: nil, exchange: id))
        case .failure(let error):
            run(machine.tokenArrived(failure: error, exchange: id))
        }
    }

    func startTransfer(_ ticket: ExchangeMachine.Ticket, requestEnded: Bool) {
        guard let record, let token = record.token, let context else { return }
        // A replay sends the kept body in one piece; a first attempt streams what the client sends.
        let body: CurlRequestBody =
            ticket.attempt > 1 && !record.body.isEmpty ? .bytes(record.keptBody) : record.body
        let request = CurlRequest(
            method: record.head.method.rawValue,
            url: forwarder.upstreamPrefix, urlSuffix: record.pathAndQuery,
            headers: HeaderPolicy.upstreamRequestHeaders(
                record.head.headers, authorization: token.authorization,
                callerProof: forwarder.route.access.requiredHeader?.name),
            body: body,
            connectTimeoutMilliseconds: forwarder.connectTimeoutMilliseconds)
        record.attempt = ticket.attempt
        // A replay answers the 401 held for the first attempt: left here, it would make the replay's own end look
        // like a second refusal.
        record.held = nil
        record.upstreamSentAt = .now()
        // One hop to the event loop per batch of curl's events: a small answer costs one wakeup, not three.
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let transfer = forwarder.upstream.start(request) { events in
            eventLoop.execute { handler.value.upstream(events, ticket: ticket) }
        }
        record.transfer = transfer
        if case .stream = record.body, !requestEnded { readPieces(upTo: transfer.uploadDepth) }
        var accepting = true
        // A replay's body went with the request; a first attempt sends what arrived before the transfer existed.
        if ticket.attempt == 1 {
            for part in record.waitingBody { accepting = transfer.send(part) && accepting }
        }
        record.waitingBody.removeAll()
        if requestEnded { run(.finishSending(armFirstByteTimer: ticket)) }
        run(accepting ? machine.uploadDrained(ticket) : machine.uploadFilled())
    }

    // MARK: - The upstream's answer

    /// One batch of a transfer's events: everything is written, then flushed once (one write to the socket for a
    /// small answer).
    func upstream(_ events: [CurlTransferEvent], ticket: ExchangeMachine.Ticket) {
        if !upstreamWhole(events, ticket: ticket) {
            for event in events {
                switch event {
                case .head(let head): upstreamHead(head, ticket: ticket)
                case .body(let body): upstreamBody(body, ticket: ticket)
                case .canAcceptMoreBody: run(machine.uploadDrained(ticket))
                case .completed(let result): upstreamEnded(result, ticket: ticket)
                }
            }
        }
        context?.flush()
    }

    /// The usual small answer, whole in one batch (head, at most one body part, success): written as one part
    /// and one buffer. False, having done nothing, for anything else.
    private func upstreamWhole(_ events: [CurlTransferEvent], ticket: ExchangeMachine.Ticket) -> Bool {
        guard events.count <= 3, case .head(let head)? = events.first, case .completed(.success)? = events.last,
            let record, let context
        else { return false }
        var body = ByteBuffer()
        if events.count == 3 {
            guard case .body(let only) = events[1] else { return false }
            body = only
        }
        let framing = answerFraming(head, record: record)
        let action = machine.upstreamWhole(
            ticket, status: head.status, bodyEndsWithConnection: framing == .untilClose)
        guard case .writeWhole(let closes) = action else { return false }
        // No didConsume: the transfer has ended, so curl waits for nothing these bytes could release.
        record.upstreamHeadArrived(metrics: forwarder.routeMetrics)
        if record.token?.probation != nil { reportAcceptance(record) }
        record.bytesOut += Int64(body.readableBytes)
        let answer = clientAnswer(head, framing: framing, closes: closes, record: record)
        answer.completeBody = body
        context.write(wrapOutboundOut(.head(answer)), promise: nil)
        answered()
        return true
    }

    private func upstreamHead(_ head: CurlResponseHead, ticket: ExchangeMachine.Ticket) {
        let framing = record.map { answerFraming(head, record: $0) } ?? .none
        let action = machine.upstreamHead(
            ticket, status: head.status, bodyEndsWithConnection: framing == .untilClose)
        switch action {
        case .holdHead:
            record?.upstreamHeadArrived(metrics: forwarder.routeMetrics)
            record?.held = (head, ByteBuffer())
        case .relayHead(let closes):
            guard let record, let context else { return }
            record.upstreamHeadArrived(metrics: forwarder.routeMetrics)
            if record.token?.probation != nil { reportAcceptance(record) }
            let answer = clientAnswer(head, framing: framing, closes: closes, record: record)
            context.write(wrapOutboundOut(.head(answer)), promise: nil)
        default:
            run(action)
        }
    }

    private func upstreamBody(_ body: ByteBuffer, ticket: ExchangeMachine.Ticket) {
        let count = body.readableBytes
        // The transfer these bytes came from, if it is still the record's (a stale one has been cancelled).
        let transfer = record.flatMap { $0.id == ticket.exchange && $0.attempt == ticket.attempt ? $0.transfer : nil }
        switch machine.upstreamBody(ticket, bytes: count) {
        case .relayBody:
            guard let record, let context, let transfer else { return }
            record.bytesOut += Int64(count)
            // Curl may receive more only once these bytes have left for the client.
            context.write(wrapOutboundOut(.body(body))).whenComplete { _ in transfer.didConsume(count) }
        case .holdBody:
            transfer?.didConsume(count)
            record?.held?.body.writeImmutableBuffer(body)
        default:
            transfer?.didConsume(count)
        }
    }

    private func upstreamEnded(_ result: Result<Void, CurlError>, ticket: ExchangeMachine.Ticket) {
        var end = ExchangeMachine.UpstreamEnd.complete
        switch result {
        case .failure(let error):
            end = .failed(error)
        case .success:
            if let record, let held = record.held, let token = record.token,
                TokenRejection(head: held.head, body: held.body, token: token.value.value).isInvalidToken
            {
                end = .rejectedToken(bodyKept: record.bodyKept)
            }
        }
        run(machine.upstreamEnded(ticket, end))
    }

    /// The upstream rejected the token: retire it, then the machine replays the request if that gave a different
    /// token, or relays the 401.
    @inline(never)
    func retireToken(exchange id: Int) {
        guard let record, let rejected = record.token, let context else { return }
        record.transfer = nil
        let tokens = forwarder.tokens
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let resource = resource(of: record)
        tokens.retire(rejected, resource: resource, replaying: true) { replaced in
            eventLoop.execute {
                let handler = handler.value
                handler.run(handler.machine.tokenRetired(exchange: id, replaced: replaced))
                handler.context?.flush()
            }
        }
    }

    /// What the token manager calls the request's resource: the upstream URL without the query.
    func resource(of record: ExchangeRecord) -> String {
        let path = record.pathAndQuery.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first
        return forwarder.upstreamURL(for: String(path ?? ""))
    }

    /// A token on probation for this request's resource was not refused there: the renewal that made it was right.
    @inline(never)
    private func reportAcceptance(_ record: ExchangeRecord) {
        let resource = resource(of: record)
        guard let token = record.token, token.probation == resource else { return }
        let tokens = forwarder.tokens
        tokens.reportAccepted(token, resource: resource)
    }
}
