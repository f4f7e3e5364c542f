import Synchronization

/// What all connections share and must not outgrow together: the requests in flight (so shutdown can wait for
/// them, and a flood is refused rather than swallowing memory) and the bytes kept for replays.
final class RequestBudget: Sendable {
    private struct Counts {
        var requests = 0
        var replayBytes = 0
    }

    private let counts = Mutex(Counts())
    let maxRequests: Int
    let replayBytes: Int

    init(maxRequests: Int, replayBytes: Int) {
        self.maxRequests = maxRequests
        self.replayBytes = replayBytes
    }

    /// Requests between their head arriving and their exchange ending.
    var requestsInFlight: Int { counts.withLock { $0.requests } }

    /// Bytes of request bodies kept for a possible replay, across all connections.
    var replayBytesInUse: Int { counts.withLock { $0.replayBytes } }

    /// Counts a request in. - Returns: false when that makes more than `maxRequests`: it must be refused (and
    /// still ended, which counts it out).
    func beginRequest() -> Bool {
        counts.withLock {
            $0.requests += 1
            return $0.requests <= maxRequests
        }
    }

    func endRequest() { counts.withLock { $0.requests -= 1 } }

    /// Takes `bytes` from the replay budget. - Returns: false, taking nothing, when they do not fit: the request
    /// streams on without a replay copy.
    func reserveReplay(_ bytes: Int) -> Bool {
        counts.withLock {
            guard $0.replayBytes + bytes <= replayBytes else { return false }
            $0.replayBytes += bytes
            return true
        }
    }

    func releaseReplay(_ bytes: Int) {
        guard bytes > 0 else { return }
        counts.withLock { $0.replayBytes -= bytes }
    }
}
