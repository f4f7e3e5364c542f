import ProxyConfiguration
/// What `TokenLifecycle` hears and says: its settings, events, actions and reports, the steps of an operation, what a
/// reload changed, and what it tells without changing (how a caller is answered, which token may be handed out, and
/// until when, when a renewal and the next wake-up are due).
extension TokenLifecycle {
    /// What the machine needs from `OAuthConfig`: how it signs in (the password is a `Secret` and never prints) and
    /// the timing.
    struct Settings: Sendable, Equatable {
        var signIn: OAuthSignIn
        var refreshAheadSeconds: Double
        var rejectedRetrySeconds: Double
        var backoff: Backoff
        /// What an operator runs when the code grant needs a fresh sign-in.
        var loginCommand: String

        init(_ config: OAuthConfig, loginCommand: String) {
            self.loginCommand = loginCommand
            signIn = config.signIn
            refreshAheadSeconds = config.refreshAheadSeconds
            rejectedRetrySeconds = config.rejectedRetrySeconds
            backoff = Backoff(initial: config.retryInitialSeconds, cap: config.retryMaxSeconds)
        }
    }

    /// What a reload changed, as far as tokens go: a pure function of the old and new config.
    enum Change: Sendable, Equatable {
        /// Timing at most: nothing obtained or pending is affected.
        case none
        /// The client secret or the password: a pause or backoff ends and they are tried at once.
        case credentials
        /// Token URL, client, user, scope or grant: what was obtained belongs to someone else and is dropped.
        case identity

        static func between(_ old: OAuthConfig, _ new: OAuthConfig) -> Change {
            if old.tokenURL != new.tokenURL || old.clientID != new.clientID || old.scope != new.scope {
                return .identity
            }
            switch (old.signIn, new.signIn) {
            case (.password(let oldUser, let oldPassword), .password(let newUser, let newPassword)):
                if oldUser != newUser { return .identity }
                if oldPassword != newPassword { return .credentials }
            case (.authorizationCode, .authorizationCode):
                break  // The authorize URL and redirect matter to `covata-proxy login` only.
            default:
                return .identity
            }
            return old.clientSecret == new.clientSecret ? .none : .credentials
        }
    }

    /// The steps of one token operation.
    enum Attempt: Sendable, Equatable {
        /// The configured sign-in (the password grant).
        case signIn(TokenGrant)
        /// Code grant: the refresh token held.
        case refresh(Secret)
        /// Code grant: `covata-proxy login` may have stored a newer refresh token meanwhile.
        case readingStateFile
        case storedRefresh(Secret)
    }

    /// What a restart or a new sign-in found in the state file (already checked and matched to the config).
    struct Stored: Sendable, Equatable {
        var accessToken: AccessToken?
        var refreshToken: Secret?
    }

    enum Event: Sendable {
        case start(Stored?)
        /// The timer the machine asked for went off.
        case tick
        /// A caller wants a token.
        case tokenNeeded
        /// The token operation with this ticket gave a token; `jitter` (0...1) spreads its renewal ahead of expiry.
        case obtained(AccessToken, ticket: Int, jitter: Double)
        /// The token operation with this ticket failed; `jitter` (0...1) picks the backoff delay.
        case failed(TokenFailure, ticket: Int, jitter: Double)
        case stateFileRead(Stored?, ticket: Int)
        /// The upstream answered 401 `invalid_token` to a request for `resource` that carried this token;
        /// `replaying`: the request is sent again with the next token, whose answer is the evidence.
        case rejectedByUpstream(Secret, resource: String, replaying: Bool = true)
        /// The upstream answered a request for `resource` with this token with anything but 401.
        case acceptedByUpstream(Secret, resource: String)
        case reloaded(Settings, Change)
        /// `covata-proxy login` exchanged a code for this token.
        case signedIn(AccessToken)
        case stop
    }

    enum Action: Sendable, Equatable {
        /// One token request; its result comes back with the ticket.
        case request(TokenGrant, ticket: Int)
        case readStateFile(ticket: Int)
        /// Write the current tokens to the state file (in order with earlier writes).
        case persist(AccessToken, refreshToken: Secret?)
        /// The token handed out changed (or was retired): refresh the lock-free snapshot.
        case publish
        /// Arm the one timer for `at`, replacing any earlier one; nil disarms it.
        case wake(at: Double?)
        /// Callers waiting for the flight that just ended can have their answer.
        case answerWaiters
        case report(Report)
    }

    /// What is worth a log line; `TokenManager` words it.
    enum Report: Sendable, Equatable {
        case obtained(AccessToken, grant: String)
        /// Covata answered a sign-in with the token it had already issued (a token store): renewed at its expiry.
        case handedBack(jti: String?, renewInSeconds: Double)
        case willRetry(reason: String, attempt: Int, delay: Double)
        case credentialsRejected(reason: String, pauseSeconds: Double)
        case signInRequired(reason: String)
        case refreshTokenRejected(error: String)
        case retired(jti: String?)
        /// A resource refused a token that was fresh, or that Covata had just confirmed: its 401s are its own.
        case resourceRefuses(jti: String?)
        case newSignInFound
    }

    /// How a caller is answered right now.
    enum Answer: Sendable, Equatable {
        case token(AccessToken)
        case wait
        case unavailable(TokenError)
    }

    // MARK: - Reading

    /// The token being handed out, in whichever phase.
    var held: Held? {
        switch phase {
        case .holding(let held): held
        case .requesting(_, let serving), .retrying(_, let serving), .paused(_, let serving),
            .awaitingSignIn(let serving):
            serving
        case .idle, .stopped: nil
        }
    }

    /// How `token()` answers at `now`.
    func answer(now: Double) -> Answer {
        if let token = usableToken(now: now) { return .token(token) }
        let reason = lastFailure?.reason ?? "no access token yet"
        switch phase {
        case .requesting, .holding:
            // Holding a token that is no longer handed out: its renewal is armed (Covata hands the same token back
            // until it expires, so the renewal waits for that), and its flight will answer.
            return .wait
        case .paused(let until, _):
            return .unavailable(.credentialsRejected(retryAfterSeconds: Self.seconds(until - now)))
        case .awaitingSignIn:
            return .unavailable(.signInRequired(command: settings.loginCommand))
        case .retrying(let at, _):
            return .unavailable(.unavailable(reason: reason, retryAfterSeconds: Self.seconds(at - now)))
        case .stopped:
            return .unavailable(.unavailable(reason: "the proxy is stopping", retryAfterSeconds: 1))
        case .idle:
            return .unavailable(.unavailable(reason: reason, retryAfterSeconds: 1))
        }
    }

    /// The token the snapshot may hand out without asking the machine: marked with the resource it is on
    /// probation for, so the forwarding handler reports the evidence that ends the probation.
    func usableToken(now: Double) -> AccessToken? {
        guard let held, now < Self.usableUntil(held.token) else { return nil }
        var token = held.token
        token.probation = held.renewedFor
        return token
    }

    /// When the held token's renewal is due (nil without one).
    var renewAt: Double? { held?.renewAt }

    /// A token is handed out only while it has at least a second (or 5% of its lifetime) left, so it does not
    /// expire in flight.
    static func usableUntil(_ token: AccessToken) -> Double {
        token.expiresAt - min(1, token.lifetime * 0.05)
    }

    static func seconds(_ interval: Double) -> Int {
        max(1, Int(min(interval, 86400 * 7).rounded(.up)))
    }

    // MARK: - Timing

    /// When a token obtained at `now` is renewed. A token store hands the same token back until it expires, so
    /// then that is awaited: Covata's `expires_in` is whole seconds, cut down, so its real end is up to a second
    /// after the one counted here. Otherwise ahead of expiry by the configured margin (at most a fifth of the
    /// lifetime), spread over its second half so sidecars that got the same token do not renew in one instant.
    func renewalTime(_ token: AccessToken, handedBack: Bool = false, jitter: Double, now: Double) -> Double {
        var awaitsExpiry = handedBack
        if handsBackCurrent, case .password = settings.signIn { awaitsExpiry = true }
        if awaitsExpiry { return max(now, token.expiresAt) + 1 }
        let margin = min(settings.refreshAheadSeconds, token.lifetime * 0.2)
        return min(token.expiresAt - margin * (1 - 0.5 * min(max(jitter, 0), 1)), Self.usableUntil(token))
    }

    /// When the machine wants to be woken in its phase (nil: an answer will come, or nothing will happen).
    func wakeTime(now: Double) -> Double? {
        switch phase {
        case .idle, .requesting, .stopped: nil
        case .holding(let held): held.renewAt
        case .retrying(let at, _): at
        case .paused(let until, _): until
        case .awaitingSignIn: scheduledWake.flatMap { $0 > now ? $0 : nil } ?? now + Self.statePollSeconds
        }
    }

    static func ticket(of event: Event) -> Int {
        switch event {
        case .obtained(_, let ticket, _), .failed(_, let ticket, _), .stateFileRead(_, let ticket): ticket
        default: 0
        }
    }
}

extension TokenLifecycle.Attempt {
    /// The `grant_type` the attempt sends, for logs.
    var grantName: String {
        switch self {
        case .refresh, .storedRefresh: "refresh_token"
        case .signIn(let grant): grant.description
        case .readingStateFile: "state_file"
        }
    }
}

/// Exponential backoff with full jitter: a random delay up to min(cap, initial × 2^(attempt−1)).
struct Backoff: Sendable, Equatable {
    var initial: Double
    var cap: Double

    func delay(afterFailures failures: Int, random: Double) -> Double {
        let exponent = min(max(failures - 1, 0), 30)
        let ceiling = min(cap, initial * Double(1 << exponent))
        return ceiling * min(max(random, 0), 1)
    }
}
