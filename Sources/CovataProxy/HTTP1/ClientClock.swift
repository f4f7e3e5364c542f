import NIOCore
import ProxyConfiguration

/// The client time limits of one connection, as a value: what the client sent and when in, what the connection's one
/// timer does out (`ClientTimeoutHandler` performs it). Times come in with the events, so tests move them by hand.
/// - idle keep-alive connections are closed after `clientIdleSeconds`;
/// - once a request's first byte arrives, its whole head must follow within `clientHeaderSeconds` (a deadline, not
///   reset by more bytes, so a slow drip cannot hold the connection), else `ClientTimeout.headTooSlow`;
/// - a request body may pause at most `clientBodyIdleSeconds`, and must average `minUploadBytesPerSecond` over each
///   `clientBodyIdleSeconds`, else `ClientTimeout.bodyStalled` (a byte a second never pauses, but would hold a
///   request slot for as long as its sender likes);
/// - a new connection must start its first request within `clientFirstRequestSeconds`, else it is closed.
///
/// One timer per connection, never moved per request: it fires at least every `granule` (the shortest limit) and the
/// clock then works out the deadline from where the connection's cycle is. No deadline is ever later than the
/// pending firing, so a request only records times.
struct ClientClock {
    /// What the connection's timer does next.
    enum Action: Equatable {
        /// Fire again at this time.
        case schedule(NIODeadline)
        /// Tell the connection's handler that a limit ran out (it writes the 408 and closes), and fire again at this
        /// time in case the connection lingers.
        case timedOut(ClientTimeout, next: NIODeadline)
        /// Close the idle connection; the timer stops.
        case close
    }

    private let headerLimit: TimeAmount
    private let bodyIdleLimit: TimeAmount
    private let idleLimit: TimeAmount
    private let firstRequestLimit: TimeAmount
    private let granule: TimeAmount
    /// Bytes a body must bring in each window of `bodyIdleLimit` (0: no rate is required).
    private let bytesPerWindow: Int
    /// The round of the cycle whose request head has started arriving, and when it started.
    private var headRound = -1
    private var headStartedAt = NIODeadline.uptimeNanoseconds(0)
    private var lastBodyBytesAt = NIODeadline.uptimeNanoseconds(0)
    /// The body rate's window: which body it belongs to (its phase's start), when it began, what it brought.
    private var windowBody: NIODeadline?
    private var windowStart = NIODeadline.uptimeNanoseconds(0)
    private var windowBytes = 0
    /// Since when the handlers behind hold reads back (curl's upload queue is full: the upstream is slow, not the
    /// client); the body's clocks stand still meanwhile.
    private var readsHeldSince: NIODeadline?

    init(timeouts: TimeoutsConfig, minUploadBytesPerSecond: Int = 0) {
        headerLimit = .milliseconds(Int64(timeouts.clientHeaderSeconds * 1000))
        bodyIdleLimit = .milliseconds(Int64(timeouts.clientBodyIdleSeconds * 1000))
        idleLimit = .milliseconds(Int64(timeouts.clientIdleSeconds * 1000))
        firstRequestLimit = min(idleLimit, .milliseconds(Int64(timeouts.clientFirstRequestSeconds * 1000)))
        granule = min(headerLimit, bodyIdleLimit, firstRequestLimit)
        bytesPerWindow = Int(Double(minUploadBytesPerSecond) * timeouts.clientBodyIdleSeconds)
    }

    // MARK: - Events

    /// The connection is up: the timer's first firing.
    func started(now: NIODeadline) -> Action { .schedule(now + granule) }

    /// `count` bytes arrived from the client.
    mutating func bytesRead(_ count: Int, cycle: ConnectionCycle.Position, now: NIODeadline) {
        switch cycle.phase {
        case .idle where headRound != cycle.rounds:
            headRound = cycle.rounds
            headStartedAt = now
        case .readingBody:
            lastBodyBytesAt = now
            startWindowIfNewBody(cycle)
            windowBytes += count
        default:
            break
        }
    }

    /// A read is over. The next one is asked for right after, unless the handlers behind hold it back. Only a
    /// body's clocks care, so requests without one pay nothing for this.
    mutating func readCompleted(cycle: ConnectionCycle.Position, now: NIODeadline) {
        if case .readingBody = cycle.phase { readsHeldSince = now }
    }

    /// The next read was asked for: time spent waiting on us is not the client's, so its clocks move on by as much.
    mutating func readRequested(now: NIODeadline) {
        guard let since = readsHeldSince else { return }
        let held = now - since
        lastBodyBytesAt = lastBodyBytesAt + held
        windowStart = windowStart + held
        readsHeldSince = nil
    }

    /// The timer fired.
    mutating func fired(cycle: ConnectionCycle.Position, now: NIODeadline) -> Action {
        guard let deadline = deadline(cycle), deadline <= now else {
            return .schedule(min(deadline(cycle) ?? .distantFuture, now + granule))
        }
        switch cycle.phase {
        case .idle where headRound == cycle.rounds:
            return .timedOut(.headTooSlow, next: now + granule)
        case .idle:
            return .close
        case .readingBody where readsHeldSince.map({ now - $0 > .milliseconds(1) }) ?? false:
            return .schedule(now + granule)  // The client waits on us, not we on it.
        case .readingBody:
            startWindowIfNewBody(cycle)
            let paused = max(cycle.since, lastBodyBytesAt) + bodyIdleLimit <= now
            guard paused || windowBytes < bytesPerWindow else {
                // A window that brought enough: the next one starts now.
                windowStart = now
                windowBytes = 0
                return .schedule(now + granule)
            }
            return .timedOut(.bodyStalled, next: now + granule)
        case .awaitingResponse:
            return .schedule(now + granule)
        }
    }

    // MARK: - Deadlines

    /// When the limit of the cycle's phase runs out; nil while the client waits on us.
    private func deadline(_ cycle: ConnectionCycle.Position) -> NIODeadline? {
        switch cycle.phase {
        case .idle where headRound == cycle.rounds: headStartedAt + headerLimit
        // A connection that has not sent its first request yet has the shorter limit.
        case .idle: cycle.since + (cycle.rounds == 0 ? firstRequestLimit : idleLimit)
        case .readingBody:
            bytesPerWindow > 0
                ? min(max(cycle.since, lastBodyBytesAt), bodyWindowStart(cycle)) + bodyIdleLimit
                : max(cycle.since, lastBodyBytesAt) + bodyIdleLimit
        case .awaitingResponse: nil
        }
    }

    /// The rate window of the body being read.
    private func bodyWindowStart(_ cycle: ConnectionCycle.Position) -> NIODeadline {
        windowBody == cycle.since ? windowStart : cycle.since
    }

    private mutating func startWindowIfNewBody(_ cycle: ConnectionCycle.Position) {
        guard windowBody != cycle.since else { return }
        windowBody = cycle.since
        windowStart = cycle.since
        windowBytes = 0
    }
}

/// A client time limit ran out (see `ClientClock`); sent inbound to the connection's handler.
enum ClientTimeout: Sendable {
    /// A request head did not arrive in full within `clientHeaderSeconds` of its first byte.
    case headTooSlow
    /// A request body paused longer than `clientBodyIdleSeconds`.
    case bodyStalled
}
