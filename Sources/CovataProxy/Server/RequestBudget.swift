import Synchronization

/// Counts requests between their head arriving and their exchange ending, across all connections,
/// so shutdown can wait for them to drain.
final class InFlightRequests: Sendable {
    private let count = Mutex(0)

    var current: Int { count.withLock { $0 } }

    func begin() { count.withLock { $0 += 1 } }

    func end() { count.withLock { $0 -= 1 } }
}
