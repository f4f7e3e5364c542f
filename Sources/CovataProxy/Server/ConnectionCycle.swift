import NIOCore

/// Where one client connection is in its request cycle. `ForwardingHandler` moves it on; `ClientTimeoutHandler` and
/// `RequestLineGuard` read it when they next need it. Shared by reference, so a request costs no pipeline events
/// and no timer changes. One per connection, created with its pipeline; event-loop bound.
final class ConnectionCycle {
    private(set) var phase = ConnectionPhase.idle
    /// When `phase` last changed (for a new connection: when it was accepted).
    private(set) var since = NIODeadline.now()
    /// How often the connection went back to idle: a new request may start after each time.
    private(set) var rounds = 0

    func enter(_ phase: ConnectionPhase) {
        self.phase = phase
        since = .now()
        if phase == .idle { rounds += 1 }
    }
}

@available(*, unavailable)
extension ConnectionCycle: Sendable {}
