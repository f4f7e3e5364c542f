import NIOCore

/// Where one client connection is in its request cycle, for `ClientTimeoutHandler`, which hands it to its
/// `ClientClock` with every event. The connection's handler (`ForwardingHandler` from its machine's phase,
/// `AdminHandler` directly) moves it on. Shared by reference, so a request costs no pipeline events and no timer
/// changes. One per connection, created with its pipeline; event-loop bound.
final class ConnectionCycle {
    private(set) var phase = ConnectionPhase.idle
    /// The connection's loop, whose clock the time limits use (nil: the system's monotonic clock).
    private let eventLoop: (any EventLoop)?
    /// When `phase` last changed (for a new connection: when it was accepted).
    private(set) var since: NIODeadline
    /// How often the connection went back to idle: once per answered request.
    private(set) var rounds = 0

    /// Where the cycle is, as a value.
    struct Position {
        let phase: ConnectionPhase
        let since: NIODeadline
        let rounds: Int
    }

    var position: Position { Position(phase: phase, since: since, rounds: rounds) }

    init(eventLoop: (any EventLoop)? = nil) {
        self.eventLoop = eventLoop
        since = eventLoop?.now ?? .now()
    }

    func enter(_ phase: ConnectionPhase) {
        self.phase = phase
        since = eventLoop?.now ?? .now()
        if phase == .idle { rounds += 1 }
    }

    /// Enters `phase` if the connection is not already in it.
    func follow(_ phase: ConnectionPhase) {
        if phase != self.phase { enter(phase) }
    }
}

@available(*, unavailable)
extension ConnectionCycle: Sendable {}

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
