/// Where a client connection is in its request cycle (see `ConnectionCycle`), deciding which client time limit
/// applies.
enum ConnectionPhase: Sendable {
    /// Between requests: the keep-alive idle limit applies, then the header limit once bytes arrive.
    case idle
    /// Receiving a request body: the body idle limit applies.
    case readingBody
    /// The request is in; the client is waiting on us, so no client limit applies.
    case awaitingResponse
}
