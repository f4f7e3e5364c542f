/// The token lifecycle as a value: which phase it is in, what it holds, and what must happen next.
///
/// Events go in through `handle(_:now:)`; actions come out. `TokenManager` performs them (token requests, the state
/// file, the one timer, waking callers) and feeds what came of them back in as events. Nothing here sleeps, reads a
/// file or touches the network, so every transition is tested synchronously, and every timer the proxy arms is one
/// this machine asked for.
struct TokenLifecycle: Sendable {
    /// What the machine needs from `OAuthConfig`: no secrets, only the grant's kind and the timing.
    struct Settings: Sendable, Equatable {
        /// The password grant signs in; otherwise a refresh token from `covata-proxy login` (the code grant).
        var signsInWithPassword: Bool
        var refreshAheadSeconds: Double
        var rejectedRetrySeconds: Double
        var backoff: Backoff
        /// A token obtained because the upstream refused the previous one is not retired by another refusal
        /// sooner than this: a path that always answers 401 must not turn every request into a login.
        var minRenewalIntervalSeconds: Double
        /// What an operator runs when the code grant needs a fresh sign-in.
        var loginCommand: String

        init(_ config: OAuthConfig, loginCommand: String) {
            self.loginCommand = loginCommand
            if case .password = config.signIn { signsInWithPassword = true } else { signsInWithPassword = false }
            refreshAheadSeconds = config.refreshAheadSeconds
            rejectedRetrySeconds = config.rejectedRetrySeconds
            backoff = Backoff(initial: config.retryInitialSeconds, cap: config.retryMaxSeconds)
            minRenewalIntervalSeconds = config.minRenewalIntervalSeconds
        }
    }

    enum Phase: Sendable, Equatable {
        /// Not started and nothing asked for yet.
        case idle
        /// A usable token; the next refresh is due at `refreshAt(current)`.
        case holding
        /// One token operation in flight (there is never more than one).
        case requesting(Flight)
        /// A transient failure: the next attempt is at `at`, whether or not anyone asks.
        case retrying(at: Double)
        /// Covata rejected the credentials: nothing is tried before `until` or a reload that changes them.
        case paused(until: Double)
        /// Code grant without a usable refresh token: the state file is polled for a new sign-in.
        case awaitingSignIn
        case stopped
    }

    /// The steps of one token operation: the held refresh token first, then the configured way to sign in.
    enum Attempt: Sendable, Equatable {
        case refresh(Secret)
        case passwordGrant
        /// Code grant: `covata-proxy login` may have stored a newer refresh token meanwhile.
        case readingStateFile
        case storedRefresh(Secret)
    }

    struct Flight: Sendable, Equatable {
        var attempt: Attempt
        /// Started because the upstream refused the current token: its result is protected from further refusals.
        var afterRejection: Bool
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
        case obtained(AccessToken)
        /// A token request failed; `jitter` (0...1) picks the backoff delay, so the machine stays deterministic.
        case failed(TokenFailure, jitter: Double)
        case stateFileRead(Stored?)
        /// The upstream answered 401 `invalid_token` for a request that carried this token.
        case rejectedByUpstream(Secret)
        /// A reload. `credentialsChanged`: secret, password, username, token URL or client ID differ;
        /// `identityChanged`: the last three do, so what was obtained belongs to someone else.
        case reloaded(Settings, credentialsChanged: Bool, identityChanged: Bool)
        /// `covata-proxy login` exchanged a code for this token.
        case signedIn(AccessToken)
        case stop
    }

    enum Grant: Sendable, Equatable {
        case refreshToken(Secret)
        case signIn
    }

    enum Action: Sendable, Equatable {
        case request(Grant)
        case readStateFile
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
        case willRetry(reason: String, attempt: Int, delay: Double)
        case credentialsRejected(reason: String, pauseSeconds: Double)
        case signInRequired(reason: String)
        case refreshTokenRejected(error: String)
        case retired(jti: String?)
        case keptDespiteRejection(jti: String?)
        case newSignInFound
    }

    /// How a caller is answered right now.
    enum Answer: Sendable, Equatable {
        case token(AccessToken)
        case wait
        case unavailable(TokenError)
    }

    static let statePollSeconds: Double = 2

    private(set) var phase: Phase = .idle
    private(set) var settings: Settings
    /// The token handed out; may outlive a failed refresh while it is still usable.
    private(set) var current: AccessToken?
    private(set) var refreshToken: Secret?
    /// The refresh token Covata last refused, so the state file is not read back into the same refusal.
    private(set) var rejectedRefreshToken: Secret?
    private(set) var failures = 0
    private(set) var lastFailure: TokenFailure?
    /// Until then an upstream's refusal does not retire the current token (see `minRenewalIntervalSeconds`).
    private(set) var protectedUntil: Double = -.infinity
    private(set) var scheduledWake: Double?

    init(settings: Settings) {
        self.settings = settings
    }

    // MARK: - Transitions

    mutating func handle(_ event: Event, now: Double) -> [Action] {
        var actions: [Action] = []
        // The timer has gone off, so none is armed: whatever is due next is asked for again below, even when the
        // tick came a little early and changed nothing.
        if case .tick = event { scheduledWake = nil }
        switch (phase, event) {
        case (.stopped, _):
            return []
        case (_, .stop):
            phase = .stopped
            actions.append(.answerWaiters)

        case (.idle, .start(let stored)):
            if let stored { adopt(stored, now: now, into: &actions) } else { startFlight(now: now, into: &actions) }
        case (_, .start):
            break

        case (.idle, .tokenNeeded):
            startFlight(now: now, into: &actions)
        case (.holding, .tokenNeeded), (.holding, .tick):
            if now >= refreshAt(now: now) { startFlight(now: now, into: &actions) }
        case (.retrying(let at), .tokenNeeded), (.retrying(let at), .tick):
            if now >= at { startFlight(now: now, into: &actions) }
        case (.paused(let until), .tokenNeeded), (.paused(let until), .tick):
            if now >= until { startFlight(now: now, into: &actions) }
        case (.awaitingSignIn, .tick):
            actions.append(.readStateFile)
        case (.idle, .tick), (.requesting, .tick), (.requesting, .tokenNeeded), (.awaitingSignIn, .tokenNeeded):
            break

        case (.requesting(let flight), .obtained(let token)):
            if let rotated = token.refreshToken { refreshToken = rotated }
            if flight.afterRejection { protectedUntil = now + settings.minRenewalIntervalSeconds }
            hold(token, grant: flight.attempt.grantName, into: &actions)
        case (.requesting(let flight), .failed(let failure, let jitter)):
            failed(flight, failure, jitter: jitter, now: now, into: &actions)
        case (.requesting(let flight), .stateFileRead(let stored)) where flight.attempt == .readingStateFile:
            if let stored = stored?.refreshToken, stored != rejectedRefreshToken {
                phase = .requesting(Flight(attempt: .storedRefresh(stored), afterRejection: flight.afterRejection))
                actions.append(.request(.refreshToken(stored)))
            } else {
                let reason =
                    rejectedRefreshToken == nil ? "no refresh token stored" : "Covata rejected the refresh token"
                fail(.signInRequired(reason: reason), now: now, into: &actions)
            }
        case (.awaitingSignIn, .stateFileRead(let stored)):
            guard let stored, let found = stored.refreshToken, found != rejectedRefreshToken, found != refreshToken
            else { break }
            actions.append(.report(.newSignInFound))
            failures = 0
            lastFailure = nil
            adopt(stored, now: now, into: &actions)
        case (_, .obtained), (_, .failed), (_, .stateFileRead):
            break  // The answer to a question nobody asks any more (a reload or a stop came in between).

        case (_, .rejectedByUpstream(let value)):
            rejected(value, now: now, into: &actions)

        case (_, .reloaded(let settings, let credentialsChanged, let identityChanged)):
            reloaded(
                settings, credentialsChanged: credentialsChanged, identityChanged: identityChanged, now: now,
                into: &actions)

        case (_, .signedIn(let token)):
            if let rotated = token.refreshToken { refreshToken = rotated }
            hold(token, grant: "authorization_code", into: &actions)
        }
        let wake = wakeTime(now: now)
        if wake != scheduledWake {
            scheduledWake = wake
            actions.append(.wake(at: wake))
        }
        return actions
    }

    private mutating func startFlight(now: Double, afterRejection: Bool = false, into actions: inout [Action]) {
        let attempt: Attempt
        if let refreshToken {
            attempt = .refresh(refreshToken)
        } else {
            attempt = settings.signsInWithPassword ? .passwordGrant : .readingStateFile
        }
        begin(Flight(attempt: attempt, afterRejection: afterRejection), into: &actions)
    }

    private mutating func begin(_ flight: Flight, into actions: inout [Action]) {
        phase = .requesting(flight)
        switch flight.attempt {
        case .refresh(let token), .storedRefresh(let token): actions.append(.request(.refreshToken(token)))
        case .passwordGrant: actions.append(.request(.signIn))
        case .readingStateFile: actions.append(.readStateFile)
        }
    }

    private mutating func hold(_ token: AccessToken, grant: String, into actions: inout [Action]) {
        current = token
        failures = 0
        lastFailure = nil
        phase = .holding
        actions.append(.publish)
        actions.append(.persist(token, refreshToken: refreshToken))
        actions.append(.report(.obtained(token, grant: grant)))
        actions.append(.answerWaiters)
    }

    /// A restart or a new sign-in: a still-usable access token is taken as it is, otherwise the refresh token is.
    private mutating func adopt(_ stored: Stored, now: Double, into actions: inout [Action]) {
        if let found = stored.refreshToken { refreshToken = found }
        if let token = stored.accessToken, now < Self.usableUntil(token) {
            current = token
            phase = .holding
            actions.append(.publish)
        } else {
            startFlight(now: now, into: &actions)
        }
    }

    private mutating func failed(
        _ flight: Flight, _ failure: TokenFailure, jitter: Double, now: Double, into actions: inout [Action]
    ) {
        switch (flight.attempt, failure) {
        case (.refresh(let spent), .grantRejected(let error)), (.storedRefresh(let spent), .grantRejected(let error)):
            // Refused refresh token: forget it and move on to the configured sign-in, once.
            rejectedRefreshToken = spent
            if refreshToken == spent { refreshToken = nil }
            actions.append(.report(.refreshTokenRejected(error: error)))
            if case .storedRefresh = flight.attempt {
                fail(.signInRequired(reason: "Covata rejected the refresh token"), now: now, into: &actions)
                return
            }
            let next: Attempt = settings.signsInWithPassword ? .passwordGrant : .readingStateFile
            begin(Flight(attempt: next, afterRejection: flight.afterRejection), into: &actions)
        case (.passwordGrant, .grantRejected(let error)):
            // A refused password grant is a credential problem, whatever the code said.
            fail(.credentialsRejected(error: error), now: now, into: &actions)
        default:
            fail(failure, now: now, jitter: jitter, into: &actions)
        }
    }

    /// Ends the flight without a token and picks the phase that says when to try again.
    private mutating func fail(
        _ failure: TokenFailure, now: Double, jitter: Double = 1, into actions: inout [Action]
    ) {
        failures += 1
        lastFailure = failure
        switch failure {
        case .credentialsRejected:
            phase = .paused(until: now + settings.rejectedRetrySeconds)
            actions.append(
                .report(.credentialsRejected(reason: failure.reason, pauseSeconds: settings.rejectedRetrySeconds)))
        case .signInRequired(let reason):
            phase = .awaitingSignIn
            actions.append(.report(.signInRequired(reason: reason)))
        case .grantRejected, .transient:
            let delay = settings.backoff.delay(afterFailures: failures, random: jitter)
            phase = .retrying(at: now + delay)
            actions.append(.report(.willRetry(reason: failure.reason, attempt: failures, delay: delay)))
        }
        actions.append(.answerWaiters)
    }

    private mutating func rejected(_ value: Secret, now: Double, into actions: inout [Action]) {
        guard let token = current, token.value == value else { return }
        guard now >= protectedUntil else {
            actions.append(.report(.keptDespiteRejection(jti: token.jti)))
            return
        }
        current = nil
        actions.append(.publish)
        actions.append(.report(.retired(jti: token.jti)))
        switch phase {
        case .requesting(var flight):
            // The operation already running is the renewal; its result is what the 401 asked for.
            flight.afterRejection = true
            phase = .requesting(flight)
        case .idle, .holding, .retrying:
            startFlight(now: now, afterRejection: true, into: &actions)
        case .paused, .awaitingSignIn, .stopped:
            break  // Nothing may be tried now; the token is dropped so no one is handed a dead one.
        }
    }

    private mutating func reloaded(
        _ settings: Settings, credentialsChanged: Bool, identityChanged: Bool, now: Double,
        into actions: inout [Action]
    ) {
        self.settings = settings
        actions.append(.publish)  // The refresh margin may have changed.
        if identityChanged {
            // Tokens of another account, client or endpoint: neither is used again.
            current = nil
            refreshToken = nil
            rejectedRefreshToken = nil
        }
        switch phase {
        case .awaitingSignIn:
            // Perhaps the reload came with a sign-in: look at once rather than at the next poll.
            begin(Flight(attempt: .readingStateFile, afterRejection: false), into: &actions)
        case .paused, .retrying:
            // Changed credentials end any pause or backoff and are tried at once.
            guard credentialsChanged else { break }
            failures = 0
            startFlight(now: now, into: &actions)
        case .holding:
            if current == nil { startFlight(now: now, into: &actions) }
        case .idle, .requesting, .stopped:
            break
        }
    }

    /// When the machine wants to be woken in its phase (nil: an answer will come, or nothing will happen).
    private func wakeTime(now: Double) -> Double? {
        switch phase {
        case .idle, .requesting, .stopped: nil
        case .holding: refreshAt(now: now)
        case .retrying(let at): at
        case .paused(let until): until
        case .awaitingSignIn: scheduledWake.flatMap { $0 > now ? $0 : nil } ?? now + Self.statePollSeconds
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
