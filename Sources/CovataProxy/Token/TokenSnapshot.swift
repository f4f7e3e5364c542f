import Synchronization

/// The current token with its timing, readable without hopping onto the `TokenManager` actor: the request path
/// takes it from here when no token operation is due, which is nearly always.
final class TokenSnapshot: Sendable {
    struct Entry: Sendable {
        var token: AccessToken
        /// From here on a refresh is due, so callers go through the actor, which starts it.
        var refreshAt: Double
        var usableUntil: Double
    }

    private let entry = Mutex<Entry?>(nil)

    func publish(_ new: Entry?) { entry.withLock { $0 = new } }

    /// The token, if it is usable and no refresh is due at `now`.
    func token(at now: Double) -> AccessToken? {
        entry.withLock { entry in
            guard let entry, now < entry.refreshAt, now < entry.usableUntil else { return nil }
            return entry.token
        }
    }
}
