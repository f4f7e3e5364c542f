import CurlClient
import NIOCore
import NIOHTTP1

/// The requests of one client connection, as a value: events in, actions out (the pattern of SwiftNIO's
/// `HTTPServerPipelineHandler` and AsyncHTTPClient's `HTTP1ConnectionStateMachine`). `ForwardingHandler` performs the
/// actions and feeds back what happened; every decision about what happens next — start, queue, answer, drop,
/// replay, close — is made in the switches of this file, which tests drive without a channel.
///
/// One request is in progress at a time. Requests a client pipelines behind it wait in `queue` in order
/// (RFC 9112 §9.3.2), and so do a protocol refusal and the client's end of input: each is acted on when its turn
/// comes, so the requests before it are answered first. Its states are in `ExchangeMachine+States.swift`, its
/// actions in `ExchangeMachine+Actions.swift`, what an answer's head and body do to the exchange in progress in
/// `ExchangeMachine+Answer.swift`.
struct ExchangeMachine {
    private(set) var state = State.idle
    private(set) var queue = CircularBuffer<Queued>()
    /// Inside a read's parts (or a drain of the queue): a transfer with a body waits for its end (see
    /// `awaitingReadEnd`).
    private var reading = false
    /// A read was asked for while reads were held.
    private var wantsRead = false
    private var lastID = 0
    private let maxBodyBytes: Int64
    /// `limits.answerHalfClosedClients`: a client's FIN ends only its requests, not our answers to them.
    private let answersHalfClosedClients: Bool

    init(maxBodyBytes: Int64, answersHalfClosedClients: Bool) {
        self.maxBodyBytes = maxBodyBytes
        self.answersHalfClosedClients = answersHalfClosedClients
    }

    // MARK: - The client's side

    mutating func read() -> Action {
        guard readsHeld else { return .read }
        wantsRead = true
        return .none
    }

    /// A part of a request, from a read: it waits in line if anything does.
    mutating func requestPart(_ part: ClientRequestPart) -> Action {
        reading = true
        guard queue.isEmpty else {
            queue.append(.part(part))
            return .none
        }
        return handle(part)
    }

    private mutating func handle(_ part: ClientRequestPart) -> Action {
        switch state {
        case .closed:
            return .none
        case .idle:
            // Between requests comes a head: an exchange ends only once its request has (or the connection does).
            guard case .head(let head) = part else {
                assertionFailure("a request's body or end between requests")
                return .none
            }
            lastID += 1
            state = .busy(Exchange(id: lastID))
            return .check(head, exchange: lastID)
        case .busy(var exchange):
            switch part {
            case .head:
                queue.append(.part(part))
                return .none
            case .body(let buffer):
                exchange.bodyBytes += Int64(buffer.readableBytes)
                state = .busy(exchange)
                guard exchange.bodyBytes <= maxBodyBytes else { return refuseCurrent(.payloadTooLarge) }
                switch exchange.upstream {
                case .awaitingToken, .awaitingReadEnd: return .acceptBody(buffer, send: false)
                case .sent, .holding, .streaming: return .acceptBody(buffer, send: true)
                // No body reaches these: checks and answers are synchronous, and only an ended request is replayed.
                case .checking, .retiring, .answering: return .none
                }
            case .end:
                exchange.requestEnded = true
                state = .busy(exchange)
                switch exchange.upstream {
                case .sent: return .finishSending(armFirstByteTimer: exchange.ticket)
                case .holding, .streaming: return .finishSending(armFirstByteTimer: nil)
                case .checking, .awaitingToken, .awaitingReadEnd, .retiring, .answering: return .none
                }
            }
        }
    }

    /// The read is over: a transfer that waited for it starts.
    mutating func readComplete() -> Action {
        reading = false
        guard case .busy(var exchange) = state, case .awaitingReadEnd = exchange.upstream else { return .none }
        return start(&exchange)
    }

    /// The request's checks ran: refused with `refusal`, or on to the token.
    /// `tokenAtHand`: the handler found a valid token without leaving the event loop (the usual case) and keeps it
    /// with the exchange. `keepAlive`: the request lets the connection go on after its answer (RFC 9112 §9.3).
    mutating func checked(refusal: ProxyError?, hasBody: Bool, tokenAtHand: Bool, keepAlive: Bool) -> Action {
        guard case .busy(var exchange) = state, case .checking = exchange.upstream else {
            assertionFailure("checked without a check")
            return .none
        }
        exchange.hasBody = hasBody
        exchange.closes = !keepAlive
        exchange.upstream = .awaitingToken
        state = .busy(exchange)
        if let refusal { return refuseCurrent(refusal) }
        guard tokenAtHand else { return .findToken(exchange: exchange.id) }
        return tokenArrived(failure: nil, exchange: exchange.id)
    }

    /// The token search ended: `failure` nil means a token is now kept with the exchange.
    mutating func tokenArrived(failure: TokenError?, exchange id: Int) -> Action {
        guard case .busy(var exchange) = state, exchange.id == id, case .awaitingToken = exchange.upstream else {
            return .none
        }
        if let failure { return refuseCurrent(.tokenUnavailable(failure)) }
        if reading, exchange.hasBody, exchange.attempt == 1 {
            exchange.upstream = .awaitingReadEnd
            state = .busy(exchange)
            return .none
        }
        return start(&exchange)
    }

    private mutating func start(_ exchange: inout Exchange) -> Action {
        exchange.upstream = .sent
        exchange.uploadFull = false
        state = .busy(exchange)
        return .startTransfer(exchange.ticket, requestEnded: exchange.requestEnded)
    }

    /// curl's upload queue is full: reads wait.
    mutating func uploadFilled() -> Action {
        guard case .busy(var exchange) = state else { return .none }
        exchange.uploadFull = true
        state = .busy(exchange)
        return .none
    }

    /// curl's upload queue has room again (or never filled).
    mutating func uploadDrained(_ ticket: Ticket) -> Action {
        guard case .busy(var exchange) = state, exchange.ticket == ticket else { return .none }
        exchange.uploadFull = false
        state = .busy(exchange)
        return resumeReadsIfWanted()
    }

    /// The request decoder refused what the client sent next.
    mutating func protocolRefusal(_ status: HTTPResponseStatus) -> Action {
        switch state {
        case .closed:
            return .none
        case .idle where queue.isEmpty:
            return close(.refuse(status, endsExchange: false))
        case .idle:
            queue.append(.refusal(status))
            return .none
        case .busy(let exchange):
            // Bytes after a complete request belong to a later one, which takes its turn.
            guard queue.isEmpty, !exchange.requestEnded else {
                queue.append(.refusal(status))
                return .none
            }
            // The current request's own bytes are broken (its body's framing).
            if case .streaming = exchange.upstream { return close(.cutShort) }
            return close(.refuse(status, endsExchange: true))
        }
    }

    /// The client shut down its sending side. By default it has gone (a FIN looks the same whether the client
    /// closed or only half-closed, and nginx takes it as gone): what is in progress is cancelled and the connection
    /// closes, freeing the request slot at once. Told to answer half-closed clients, the requests before the FIN
    /// are answered in turn, then the connection closes.
    mutating func inputEnded() -> Action {
        switch state {
        case .closed:
            return .none
        case .idle where queue.isEmpty:
            return close(.closeWhenWritten)
        case .idle, .busy:
            guard answersHalfClosedClients else { return close(.cutShort) }
            queue.append(.inputEnded)
            return .none
        }
    }

    /// A request body paused longer than the client body limit.
    mutating func bodyStalled() -> Action {
        guard case .busy(let exchange) = state, !exchange.requestEnded else { return .none }
        return refuseCurrent(.requestTimeout)
    }

    /// A request head did not arrive in time (the client timeout handler saw its first bytes).
    mutating func headTimedOut() -> Action {
        guard case .idle = state, queue.isEmpty else { return .none }
        return close(.answerAlone(.requestTimeout))
    }

    /// The proxy is stopping (NIO's `ChannelShouldQuiesceEvent`): an idle connection closes now; a busy one
    /// finishes the answer in progress, telling the client the connection ends, and closes. What waits in line is
    /// not started (the client sends it again on a new connection).
    mutating func quiesce() -> Action {
        switch state {
        case .closed:
            return .none
        case .idle:
            return close(.closeWhenWritten)
        case .busy(var exchange):
            exchange.closes = true
            state = .busy(exchange)
            return .none
        }
    }

    mutating func connectionClosed() -> Action {
        guard case .busy = state else { return close(.none) }
        return close(.abandon)
    }

    // MARK: - The upstream's side

    /// The answer's head (see `Exchange.receiveHead`).
    mutating func upstreamHead(_ ticket: Ticket, status: Int, bodyEndsWithConnection: Bool) -> Action {
        guard case .busy(var exchange) = state, exchange.ticket == ticket else { return .none }
        let action = exchange.receiveHead(status: status, bodyEndsWithConnection: bodyEndsWithConnection)
        state = .busy(exchange)
        return action
    }

    /// `bytes` of the answer's body (see `Exchange.receiveBody`); a stale attempt's are dropped.
    mutating func upstreamBody(_ ticket: Ticket, bytes: Int) -> Action {
        guard case .busy(var exchange) = state, exchange.ticket == ticket else { return .dropBody }
        let action = exchange.receiveBody(bytes: bytes)
        state = .busy(exchange)
        return action
    }

    /// A whole small answer (head, body, success) in one batch: written as one (`writeWhole`, then `answerWritten`),
    /// or `.none`, and its events come one by one (see `Exchange.receiveWhole`).
    mutating func upstreamWhole(_ ticket: Ticket, status: Int, bodyEndsWithConnection: Bool) -> Action {
        guard case .busy(var exchange) = state, exchange.ticket == ticket else { return .none }
        let action = exchange.receiveWhole(status: status, bodyEndsWithConnection: bodyEndsWithConnection)
        state = .busy(exchange)
        return action
    }

    mutating func upstreamEnded(_ ticket: Ticket, _ end: UpstreamEnd) -> Action {
        guard case .busy(var exchange) = state, exchange.ticket == ticket else { return .none }
        switch (end, exchange.upstream) {
        case (.failed(let error), .streaming):
            // HTTP/1.1 cannot signal a broken body; closing without the end marker tells the client.
            return .report(.upstreamFailed(error, midAnswer: true), then: close(.cutShort))
        case (.failed(let error), _):
            return .report(.upstreamFailed(error, midAnswer: false), then: refuseCurrent(ProxyError(error)))
        case (.complete, .streaming):
            return .writeEnd
        case (.complete, .holding):
            return relayHeld(&exchange, retireToken: false)
        case (.rejectedToken(let bodyKept), .holding):
            // Sent once more only if the whole request can be sent again, and only once.
            guard bodyKept, exchange.requestEnded, exchange.attempt == 1 else {
                return relayHeld(&exchange, retireToken: true)
            }
            exchange.upstream = .retiring
            state = .busy(exchange)
            return .retireToken(exchange: exchange.id)
        case (.complete, _), (.rejectedToken, _):
            // Ended without a head: nothing the client could be given.
            return refuseCurrent(.upstreamBadResponse)
        }
    }

    /// The token manager retired the rejected token; `replaced`: a different token is now current or on its way (a
    /// resource that refuses fresh tokens too keeps the token, and its 401 is relayed instead).
    mutating func tokenRetired(exchange id: Int, replaced: Bool) -> Action {
        guard case .busy(var exchange) = state, exchange.id == id, case .retiring = exchange.upstream else {
            return .none
        }
        guard replaced else { return relayHeld(&exchange, retireToken: false) }
        exchange.attempt += 1
        exchange.upstream = .awaitingToken
        state = .busy(exchange)
        return .report(.replaying, then: .findToken(exchange: id))
    }

    /// The first-byte timer armed for `ticket` ran out. Only a transfer still without a head is answered 504: a timer
    /// that outlived its attempt (answered, replayed, refused) is ignored.
    mutating func firstByteTimedOut(_ ticket: Ticket) -> Action {
        guard case .busy(let exchange) = state, exchange.ticket == ticket, case .sent = exchange.upstream else {
            return .none
        }
        return .report(.upstreamTimedOut, then: refuseCurrent(.upstreamTimedOut))
    }

    // MARK: - Ending an exchange

    /// The current request's answer has been written in full.
    mutating func answerWritten() -> Action {
        guard case .busy(let exchange) = state else {
            assertionFailure("an answer written with no exchange in progress")
            return .none
        }
        // An answer before the request's end ends the connection: the rest of it cannot be told from a next request.
        guard !exchange.closes, exchange.requestEnded else {
            return close(.closeWhenWritten)
        }
        state = .idle
        guard queue.isEmpty else { return .drainQueue }
        return resumeReadsIfWanted()
    }

    /// The next thing in line, or nil when the queue is empty or its head waits for the request in progress.
    mutating func nextQueued() -> Action? {
        guard let first = queue.first else { return nil }
        switch (first, state) {
        case (_, .closed):
            queue.removeAll()
            return nil
        case (.part(.head), .busy), (.inputEnded, .busy):
            return nil
        case (.part(let part), _):
            queue.removeFirst()
            reading = true
            return handle(part)
        case (.refusal(let status), .idle):
            queue.removeAll()
            return protocolRefusal(status)
        case (.refusal(let status), .busy(let exchange)):
            // The request just started from the queue is the one refused; a request read to its end goes first.
            guard !exchange.requestEnded else { return nil }
            queue.removeAll()
            return protocolRefusal(status)
        case (.inputEnded, .idle):
            return close(.closeWhenWritten)
        }
    }

    /// A drain of the queue is over: as at the end of a read.
    mutating func queueDrained() -> Action {
        let action = readComplete()
        guard case .none = action else { return action }
        return resumeReadsIfWanted()
    }

    /// The connection ends with `action`: nothing waiting in line will be started.
    private mutating func close(_ action: Action) -> Action {
        state = .closed
        queue.removeAll()
        return action
    }

    private mutating func resumeReadsIfWanted() -> Action {
        guard wantsRead, !readsHeld else { return .none }
        wantsRead = false
        return .read
    }

    /// Our own answer to the current request, unless its answer has started: then only closing is left.
    private mutating func refuseCurrent(_ error: ProxyError) -> Action {
        guard case .busy(var exchange) = state else { return .none }
        switch exchange.upstream {
        case .streaming:
            return close(.cutShort)
        case .answering:
            return .none
        case .checking, .awaitingToken, .awaitingReadEnd, .sent, .holding, .retiring:
            // The transfer is cancelled with the answer.
            exchange.upstream = .answering
            if !exchange.requestEnded { exchange.closes = true }
            state = .busy(exchange)
            return .answer(error, closes: exchange.closes)
        }
    }

    private mutating func relayHeld(_ exchange: inout Exchange, retireToken: Bool) -> Action {
        exchange.upstream = .answering
        state = .busy(exchange)
        return .relayHeld(retireToken: retireToken, closes: exchange.closes)
    }
}
