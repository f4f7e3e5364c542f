/// The upstream's answer within one exchange, as AsyncHTTPClient's request machine sits inside its connection
/// machine: what a head, a body part or a whole small answer does to the exchange in progress. `ExchangeMachine`
/// checks the event is the current attempt's and stores the exchange back; what the connection does next (close,
/// drain the queue) stays in its own transitions.
extension ExchangeMachine.Exchange {
    typealias Action = ExchangeMachine.Action

    /// The answer's head. A 401 is held: it may be a revoked token, decided by its body, and may echo the token.
    /// `bodyEndsWithConnection`: its body has no length for this client (RFC 9112 §6.3 rule 8).
    mutating func receiveHead(status: Int, bodyEndsWithConnection: Bool) -> Action {
        guard case .sent = upstream else { return .none }
        guard status != 401 else {
            upstream = .holding(bytes: 0)
            return .holdHead
        }
        upstream = .streaming
        if bodyEndsWithConnection { closes = true }
        return .relayHead(closes: closes)
    }

    /// `bytes` of the answer's body: relayed, held with a 401 up to the held limit, or dropped.
    mutating func receiveBody(bytes: Int) -> Action {
        switch upstream {
        case .holding(let held):
            guard held < ExchangeMachine.heldBodyLimit else { return .dropBody }
            upstream = .holding(bytes: held + bytes)
            return .holdBody
        case .streaming:
            return .relayBody
        case .checking, .awaitingToken, .awaitingReadEnd, .sent, .retiring, .answering:
            return .dropBody
        }
    }

    /// A whole small answer in one batch: written as one, unless it is a 401 (held like any other) or a head
    /// already came.
    mutating func receiveWhole(status: Int, bodyEndsWithConnection: Bool) -> Action {
        guard case .sent = upstream, status != 401 else { return .none }
        upstream = .answering
        if bodyEndsWithConnection { closes = true }
        return .writeWhole(closes: closes)
    }
}
