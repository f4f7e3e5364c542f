import CurlClient
import NIOCore
import NIOHTTP1

/// What `ExchangeMachine` says: the actions it returns and their vocabulary (what waits in its queue included), and
/// what it tells without changing.
extension ExchangeMachine {
    /// Which transfer an upstream event comes from. A replay starts a second attempt; events of a transfer the
    /// machine has moved past (cancelled, replaced) no longer match and are dropped.
    struct Ticket: Equatable, Sendable {
        let exchange: Int
        let attempt: Int
    }

    /// The rare answers are boxed (`indirect`), so an action stays a few words: one is returned and consumed for
    /// every event.
    enum Action: Equatable {
        case none
        /// Ask the channel for more bytes.
        case read
        /// Run the request's checks and look for a token at hand, then report
        /// `checked(refusal:hasBody:tokenAtHand:keepAlive:)`.
        case check(ClientRequestHead, exchange: Int)
        /// Get a token (at hand, or off the event loop), keep it with the exchange, then report
        /// `tokenArrived(_:exchange:)`.
        case findToken(exchange: Int)
        /// Start the transfer with the token found: a first attempt sends the body parts held so far and streams
        /// the rest; a replay sends the kept body. `requestEnded`: also end the upload and arm the first-byte timer
        /// for this ticket. Then report `uploadFilled()` or `uploadDrained(_:)`.
        case startTransfer(Ticket, requestEnded: Bool)
        /// Write the upstream's answer head; `closes`: tell the client the connection ends after it.
        case relayHead(closes: Bool)
        /// Keep the 401 head (and `holdBody` its body) until the transfer ends.
        case holdHead
        /// Write this part of the answer's body; curl may receive more once it is out.
        case relayBody
        case holdBody
        /// Drop this part (stale, refused meanwhile, or past the held limit); curl may receive more at once.
        case dropBody
        /// Write the whole small answer of this batch as one; then `answerWritten`.
        case writeWhole(closes: Bool)
        /// A body part of the current request: keep it for a replay, and send it if the transfer runs, else hold it
        /// until the transfer starts.
        case acceptBody(ByteBuffer, send: Bool)
        /// End the upload. `armFirstByteTimer`: no answer head has come yet, so the upstream's first-byte limit
        /// starts now for this ticket; when it runs out, report `firstByteTimedOut(_:)` with it. The timer is never
        /// cancelled: a head, an answer or a newer ticket makes the machine ignore it (one timer per connection, no
        /// timer work per request).
        case finishSending(armFirstByteTimer: Ticket?)
        /// Our own answer to the current request (its transfer, if any, is cancelled); then `answerWritten`.
        /// `closes`: tell the client the connection ends (always when the request was not read to its end).
        indirect case answer(ProxyError, closes: Bool)
        /// The end of a streamed answer; then `answerWritten`.
        case writeEnd
        /// The held 401 is answered with the proxy's own 401 (its error code and realm only: the upstream's answer
        /// may carry the token); `retireToken` also retires that token (a revoked token with no replay left).
        /// Then `answerWritten`.
        case relayHeld(retireToken: Bool, closes: Bool)
        /// Ask the token manager to retire the rejected token, then report `tokenRetired(exchange:replaced:)`.
        case retireToken(exchange: Int)
        /// A bare refusal, then the connection closes. `endsExchange`: the current request ends unanswered by the
        /// upstream (its transfer is cancelled).
        case refuse(HTTPResponseStatus, endsExchange: Bool)
        /// The slow-head 408: an answer to no request, then the connection closes.
        indirect case answerAlone(ProxyError)
        /// Close now, cutting an answer short: HTTP/1.1's only way to say a body broke. The current exchange ends.
        case cutShort
        /// The client went away: cancel the transfer, and the exchange ends.
        case abandon
        /// Close once everything written is out.
        case closeWhenWritten
        /// Start the queued requests, from a fresh event-loop turn (not from inside the answer that just ended):
        /// call `nextQueued()` until it returns nil, then `queueDrained()`.
        case drainQueue
        /// Log what happened (the operator's view), then do `then`.
        indirect case report(Report, then: Action)
    }

    /// What the handler logs for the machine.
    enum Report: Equatable {
        /// The upstream sent no answer head within the first-byte limit.
        case upstreamTimedOut
        /// The transfer failed; `midAnswer`: after its head was relayed.
        case upstreamFailed(CurlError, midAnswer: Bool)
        /// A revoked token was replaced: the request goes once more.
        case replaying
    }

    /// What waits behind the request in progress, in the order the client sent it.
    enum Queued {
        case part(ClientRequestPart)
        /// A request the decoder refused: answered when its turn comes, then the end.
        case refusal(HTTPResponseStatus)
        /// The client shut down its sending side (half-close): the connection ends after the answers before it.
        case inputEnded
    }

    /// How a transfer ended, as the handler saw it.
    enum UpstreamEnd: Equatable {
        case complete
        /// A held 401 said `invalid_token`; `bodyKept`: the request's whole body is kept, so it can be sent again.
        case rejectedToken(bodyKept: Bool)
        case failed(CurlError)
    }

    /// Reads wait while a request is being started (token, replay) or curl's upload queue is full, and while
    /// pipelined requests wait, so a pipelining client can make us hold at most one read's worth.
    var readsHeld: Bool {
        guard queue.isEmpty else { return true }
        switch state {
        case .idle, .closed:
            return false
        case .busy(let exchange):
            switch exchange.upstream {
            case .checking, .awaitingToken, .awaitingReadEnd, .retiring: return true
            case .sent, .holding, .streaming, .answering: return exchange.uploadFull
            }
        }
    }

    /// Which client time limit applies (see `ClientTimeoutHandler`).
    var clientPhase: ConnectionPhase {
        switch state {
        case .idle: .idle
        case .busy(let exchange): exchange.hasBody && !exchange.requestEnded ? .readingBody : .awaitingResponse
        case .closed: .awaitingResponse
        }
    }
}
