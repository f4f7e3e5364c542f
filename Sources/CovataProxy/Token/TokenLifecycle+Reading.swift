/// What the lifecycle says without changing: how a caller is answered, which token may be handed out, and when.
extension TokenLifecycle {
    /// How `token()` answers at `now`.
    func answer(now: Double) -> Answer {
        if let current, now < Self.usableUntil(current) { return .token(current) }
        let reason = lastFailure?.reason ?? "no access token yet"
        switch phase {
        case .requesting:
            return .wait
        case .paused(let until):
            return .unavailable(.credentialsRejected(retryAfterSeconds: Self.seconds(until - now)))
        case .awaitingSignIn:
            return .unavailable(.signInRequired(command: settings.loginCommand))
        case .retrying(let at):
            return .unavailable(.unavailable(reason: reason, retryAfterSeconds: Self.seconds(at - now)))
        case .stopped:
            return .unavailable(.unavailable(reason: "the proxy is stopping", retryAfterSeconds: 1))
        case .idle, .holding:
            return .unavailable(.unavailable(reason: reason, retryAfterSeconds: 1))
        }
    }

    /// The token the snapshot may hand out without asking the machine, with its timing.
    func usableToken(now: Double) -> AccessToken? {
        guard let current, now < Self.usableUntil(current) else { return nil }
        return current
    }

    /// When the current token's refresh is due: the configured margin, bounded to a fifth of its lifetime so a
    /// short-lived token is not refreshed on every request, and never later than it stops being handed out.
    func refreshAt(now: Double) -> Double {
        guard let current else { return now }
        return min(
            current.expiresAt - min(settings.refreshAheadSeconds, current.lifetime * 0.2),
            Self.usableUntil(current))
    }

    /// A token is handed out only while it has at least a second (or 5% of its lifetime) left, so it does not
    /// expire in flight.
    static func usableUntil(_ token: AccessToken) -> Double {
        token.expiresAt - min(1, token.lifetime * 0.05)
    }

    fileprivate static func seconds(_ interval: Double) -> Int {
        max(1, Int(min(interval, 86400 * 7).rounded(.up)))
    }
}

extension TokenLifecycle.Attempt {
    /// The `grant_type` the attempt sends, for logs.
    var grantName: String {
        switch self {
        case .refresh, .storedRefresh: "refresh_token"
        case .passwordGrant: "password"
        case .readingStateFile: "state_file"
        }
    }
}
