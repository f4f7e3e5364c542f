/// Where a connection's exchange machine can be: the connection's state, the request in progress and where its
/// upstream side is. Every transition between them is in `ExchangeMachine.swift`, but those an answer's head and body
/// make within the exchange in progress (`ExchangeMachine+Answer.swift`).
extension ExchangeMachine {
    enum State {
        /// Between requests.
        case idle
        /// A request is in progress.
        case busy(Exchange)
        /// An answer that ends the connection was written, or the client went away: nothing more is started or
        /// answered, and what the client still sends is dropped.
        case closed
    }

    /// Plain values only, so moving it in and out of `State` is a copy of a few words.
    struct Exchange {
        let id: Int
        var attempt = 1
        /// Whether the request has a body (set by its checks): a body's end comes in a later read.
        var hasBody = false
        var requestEnded = false
        /// Body bytes received, against `maxBodyBytes`.
        var bodyBytes: Int64 = 0
        var upstream = Upstream.checking
        /// curl's upload queue is full: reads wait until it drains.
        var uploadFull = false
        /// The connection ends after this exchange's answer: the client asked, the answer's body ends with the
        /// connection, or the answer came before the request's end.
        var closes = false

        var ticket: Ticket { Ticket(exchange: id, attempt: attempt) }
    }

    /// Where the request is on its way upstream, and its answer on the way back.
    enum Upstream {
        /// Its checks run (the `.check` action); `checked` follows at once.
        case checking
        /// Waiting for a token off the event loop; body parts that arrive meanwhile are kept by the handler.
        case awaitingToken
        /// The token is at hand, but the read that brought the head is not over: a malformed body in the same
        /// bytes is refused before anything has gone upstream.
        case awaitingReadEnd
        /// The transfer runs; no answer head yet.
        case sent
        /// A 401 head is held until its body shows whether the token was revoked; `bytes` of its body so far.
        case holding(bytes: Int)
        /// The 401 said `invalid_token`; the token manager is retiring the token (`tokenRetired` follows).
        case retiring
        /// The answer's head has been written; its body streams.
        case streaming
        /// An answer is being written whole (ours, a held 401, or a small one in one batch): `answerWritten`
        /// follows at once, and nothing more goes upstream or is relayed.
        case answering
    }

    /// The largest 401 body held back while deciding on a replay (Covata's are a few hundred bytes); the rest is
    /// dropped, as the proxy's own 401 never carries the upstream's body.
    static let heldBodyLimit = 64 * 1024
}
