import ProxyConfiguration
/// The token lifecycle as a value: which phase it is in, the token it hands out, and what must happen next.
///
/// Events go in through `handle(_:now:)`; actions come out. `TokenManager` performs them (token requests, the state
/// file, the one timer, waking callers, log lines) and feeds what came of them back in as events. Nothing here
/// sleeps, reads a file or touches the network, so every transition is tested synchronously, and every timer the
/// proxy arms is one this machine asked for. Its vocabulary is in `TokenLifecycle+Vocabulary.swift`.
///
/// Covata's server is Spring Security OAuth2 with a token store: one access token per account and client, handed
/// back by a sign-in until it expires, and a refresh that removes every access token issued with that refresh
/// token. So under the password grant the token is renewed with the password grant only (a sidecar never removes
/// the token its siblings on the same account use), and a token handed back is renewed when it expires.
struct TokenLifecycle: Sendable {
    enum Phase: Sendable, Equatable {
        /// Not started and nothing asked for yet.
        case idle
        /// A token, with its renewal armed.
        case holding(Held)
        /// One token operation in flight (never more than one); the token it renews, if any, is still served.
        case requesting(Flight, serving: Held?)
        /// A transient failure: the next attempt is at `at`, whether or not anyone asks.
        case retrying(at: Double, serving: Held?)
        /// Covata rejected the credentials: nothing is tried before `until` or a reload that changes them.
        case paused(until: Double, serving: Held?)
        /// Code grant without a usable refresh token: the state file is polled for a new sign-in.
        case awaitingSignIn(serving: Held?)
        case stopped
    }

    /// The token handed out, with what the machine has learnt about it.
    struct Held: Sendable, Equatable {
        var token: AccessToken
        /// When it is renewed: ahead of expiry (spread by `jitter`), or just after it when Covata hands back the
        /// token it already issued.
        var renewAt: Double
        /// Obtained because the upstream refused the previous token for this resource, and no request for it has
        /// succeeded since: if the resource refuses this fresh token too, the resource is at fault, not the token.
        var renewedFor: String?
        /// Resources that refused this token while it was fresh or confirmed by Covata: their 401s are relayed.
        var refusedBy: Set<String> = []
    }

    struct Flight: Sendable, Equatable {
        /// Results carry it back; one that does not match is from an operation the machine moved past.
        var ticket: Int
        var attempt: Attempt
        /// The resource whose 401 started it, if one did.
        var rejectedBy: String?
        /// That request is replayed with the result, so the result goes on probation there.
        var replaying = false
    }

    static let statePollSeconds: Double = 2
    /// Resources remembered per token as refusing it; past this, a refusal retires the token as usual.
    static let refusedByLimit = 64

    private(set) var phase: Phase = .idle
    private(set) var settings: Settings
    /// Code grant: the refresh token to renew with. The password grant keeps none (a refresh would remove the
    /// access token of every sidecar on the account).
    private(set) var refreshToken: Secret?
    /// The refresh token Covata last refused, so the state file is not read back into the same refusal.
    private(set) var rejectedRefreshToken: Secret?
    private(set) var failures = 0
    private(set) var lastFailure: TokenFailure?
    /// Covata has answered a sign-in with the token it had already issued: it keeps a token store, so a renewal
    /// before expiry would only get the same token back.
    private(set) var handsBackCurrent = false
    /// The value of the last token obtained, to recognise it when it comes back.
    private var lastIssued: Secret?
    private var lastTicket = 0
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
            if let stored { adopt(stored, now: now, into: &actions) } else { startFlight(into: &actions) }
        case (_, .start):
            assertionFailure("the token lifecycle was started twice")

        case (.idle, .tokenNeeded):
            startFlight(into: &actions)
        case (.holding(let held), .tokenNeeded), (.holding(let held), .tick):
            if now >= held.renewAt { startFlight(serving: held, into: &actions) }
        case (.retrying(let at, let serving), .tokenNeeded), (.retrying(let at, let serving), .tick):
            if now >= at { startFlight(serving: serving, into: &actions) }
        case (.paused(let until, let serving), .tokenNeeded), (.paused(let until, let serving), .tick):
            if now >= until { startFlight(serving: serving, into: &actions) }
        case (.awaitingSignIn(let serving), .tick):
            begin(.readingStateFile, serving: serving, into: &actions)
        case (.idle, .tick), (.requesting, .tick), (.requesting, .tokenNeeded), (.awaitingSignIn, .tokenNeeded):
            break

        case (.requesting(let flight, let serving), .obtained(let token, let ticket, let jitter))
        where ticket == flight.ticket:
            obtained(token, flight: flight, serving: serving, jitter: jitter, now: now, into: &actions)
        case (.requesting(let flight, let serving), .failed(let failure, let ticket, let jitter))
        where ticket == flight.ticket:
            failed(failure, flight: flight, serving: serving, jitter: jitter, now: now, into: &actions)
        case (.requesting(let flight, let serving), .stateFileRead(let stored, let ticket))
        where ticket == flight.ticket:
            stateFileRead(stored, flight: flight, serving: serving, now: now, into: &actions)
        case (.awaitingSignIn, .stateFileRead), (_, .obtained), (_, .failed), (_, .stateFileRead):
            // The answer to a question nobody asks any more (a reload, a stop or a newer attempt came in between).
            assert(Self.ticket(of: event) <= lastTicket, "a result for an operation never started")

        case (_, .rejectedByUpstream(let value, let resource, let replaying)):
            rejected(value, by: resource, replaying: replaying, now: now, into: &actions)
        case (_, .acceptedByUpstream(let value, let resource)):
            guard var held, held.token.value == value, held.renewedFor == resource else { break }
            // The renewal was right: the token it replaced was dead. A later refusal here retires this one.
            held.renewedFor = nil
            replaceHeld(with: held)
            actions.append(.publish)

        case (_, .reloaded(let settings, let change)):
            reloaded(settings, change, now: now, into: &actions)

        case (_, .signedIn(let token)):
            if let rotated = token.refreshToken { refreshToken = rotated }
            lastIssued = token.value
            hold(Held(token: token, renewAt: renewalTime(token, jitter: 0.5, now: now)), into: &actions)
            actions.append(.persist(token, refreshToken: refreshToken))
            actions.append(.report(.obtained(token, grant: "authorization_code")))
        }
        let wake = wakeTime(now: now)
        if wake != scheduledWake {
            scheduledWake = wake
            actions.append(.wake(at: wake))
        }
        return actions
    }

    // MARK: - Flights

    /// The next token operation: the code grant renews with its refresh token; the password grant signs in.
    private mutating func startFlight(
        serving: Held? = nil, rejectedBy: String? = nil, replaying: Bool = false, into actions: inout [Action]
    ) {
        let attempt: Attempt
        switch settings.signIn {
        case .password(let username, let password):
            attempt = .signIn(.password(username: username, password: password))
        case .authorizationCode:
            attempt = refreshToken.map(Attempt.refresh) ?? .readingStateFile
        }
        begin(attempt, serving: serving, rejectedBy: rejectedBy, replaying: replaying, into: &actions)
    }

    private mutating func begin(
        _ attempt: Attempt, serving: Held?, rejectedBy: String? = nil, replaying: Bool = false,
        into actions: inout [Action]
    ) {
        lastTicket += 1
        let flight = Flight(ticket: lastTicket, attempt: attempt, rejectedBy: rejectedBy, replaying: replaying)
        phase = .requesting(flight, serving: serving)
        switch attempt {
        case .signIn(let grant): actions.append(.request(grant, ticket: lastTicket))
        case .refresh(let token), .storedRefresh(let token):
            actions.append(.request(.refreshToken(token), ticket: lastTicket))
        case .readingStateFile: actions.append(.readStateFile(ticket: lastTicket))
        }
    }

    private mutating func obtained(
        _ token: AccessToken, flight: Flight, serving: Held?, jitter: Double, now: Double, into actions: inout [Action]
    ) {
        let handedBack = token.value == lastIssued
        guard token.lifetime > 0 || handedBack else {
            // `expires_in: 0` on a new token: nothing that could be used.
            fail(
                .transient(reason: "token endpoint answered an expired token"), flight: flight, serving: serving,
                jitter: jitter, now: now, into: &actions)
            return
        }
        if case .authorizationCode = settings.signIn, let rotated = token.refreshToken { refreshToken = rotated }
        if handedBack { handsBackCurrent = true }
        lastIssued = token.value
        var held = Held(token: token, renewAt: renewalTime(token, handedBack: handedBack, jitter: jitter, now: now))
        if handedBack {
            // The same token: what was learnt about it still holds, and Covata has just confirmed it, so a resource
            // that refused it refuses any token.
            held.refusedBy = serving?.token.value == token.value ? serving?.refusedBy ?? [] : []
            if let resource = flight.rejectedBy { held.refusedBy.insert(resource) }
            actions.append(.report(.handedBack(jti: token.jti, renewInSeconds: held.renewAt - now)))
        } else {
            // On probation where the 401 came from, if the refused request is replayed with it: that replay's answer
            // tells whether the old token was dead or the resource refuses any token.
            held.renewedFor = flight.replaying ? flight.rejectedBy : nil
            actions.append(.persist(token, refreshToken: refreshToken))
            actions.append(.report(.obtained(token, grant: flight.attempt.grantName)))
        }
        hold(held, into: &actions)
    }

    private mutating func hold(_ held: Held, into actions: inout [Action]) {
        failures = 0
        lastFailure = nil
        phase = .holding(held)
        actions.append(.publish)
        actions.append(.answerWaiters)
    }

    /// A restart or a new sign-in: a still-usable access token is taken as it is, otherwise the refresh token is.
    private mutating func adopt(_ stored: Stored, now: Double, into actions: inout [Action]) {
        if case .authorizationCode = settings.signIn, let found = stored.refreshToken { refreshToken = found }
        if let token = stored.accessToken, now < Self.usableUntil(token) {
            lastIssued = token.value
            hold(Held(token: token, renewAt: renewalTime(token, jitter: 0.5, now: now)), into: &actions)
        } else {
            startFlight(into: &actions)
        }
    }

    private mutating func stateFileRead(
        _ stored: Stored?, flight: Flight, serving: Held?, now: Double, into actions: inout [Action]
    ) {
        switch flight.attempt {
        case .readingStateFile:
            if let found = stored?.refreshToken, found != rejectedRefreshToken, found != refreshToken,
                let token = stored?.accessToken, now < Self.usableUntil(token)
            {
                // `covata-proxy login` stored a new sign-in with a usable access token: taken as it is.
                actions.append(.report(.newSignInFound))
                refreshToken = found
                lastIssued = token.value
                hold(Held(token: token, renewAt: renewalTime(token, jitter: 0.5, now: now)), into: &actions)
            } else if let found = stored?.refreshToken, found != rejectedRefreshToken {
                begin(
                    .storedRefresh(found), serving: serving, rejectedBy: flight.rejectedBy, replaying: flight.replaying,
                    into: &actions)
            } else {
                let reason =
                    rejectedRefreshToken == nil ? "no refresh token stored" : "Covata rejected the refresh token"
                fail(.signInRequired(reason: reason), flight: flight, serving: serving, now: now, into: &actions)
            }
        case .signIn, .refresh, .storedRefresh:
            assertionFailure("a state-file result for a token request")
        }
    }

    private mutating func failed(
        _ failure: TokenFailure, flight: Flight, serving: Held?, jitter: Double, now: Double,
        into actions: inout [Action]
    ) {
        switch (flight.attempt, failure) {
        case (.refresh(let spent), .grantRejected(let error)), (.storedRefresh(let spent), .grantRejected(let error)):
            // A refused refresh token is forgotten; a newer sign-in may be in the state file, once.
            rejectedRefreshToken = spent
            if refreshToken == spent { refreshToken = nil }
            actions.append(.report(.refreshTokenRejected(error: error)))
            if case .storedRefresh = flight.attempt {
                fail(
                    .signInRequired(reason: "Covata rejected the refresh token"), flight: flight, serving: serving,
                    now: now, into: &actions)
            } else {
                begin(
                    .readingStateFile, serving: serving, rejectedBy: flight.rejectedBy, replaying: flight.replaying,
                    into: &actions)
            }
        case (.signIn, .grantRejected(let error)):
            // A refused sign-in is a credential problem, whatever the code said.
            fail(.credentialsRejected(error: error), flight: flight, serving: serving, now: now, into: &actions)
        default:
            fail(failure, flight: flight, serving: serving, jitter: jitter, now: now, into: &actions)
        }
    }

    /// Ends the flight without a token and picks the phase that says when to try again; a token still usable is
    /// still served.
    private mutating func fail(
        _ failure: TokenFailure, flight: Flight, serving: Held?, jitter: Double = 1, now: Double,
        into actions: inout [Action]
    ) {
        failures += 1
        lastFailure = failure
        switch failure {
        case .credentialsRejected:
            phase = .paused(until: now + settings.rejectedRetrySeconds, serving: serving)
            actions.append(
                .report(.credentialsRejected(reason: failure.reason, pauseSeconds: settings.rejectedRetrySeconds)))
        case .signInRequired(let reason):
            phase = .awaitingSignIn(serving: serving)
            actions.append(.report(.signInRequired(reason: reason)))
        case .grantRejected, .transient:
            let delay = settings.backoff.delay(afterFailures: failures, random: jitter)
            phase = .retrying(at: now + delay, serving: serving)
            actions.append(.report(.willRetry(reason: failure.reason, attempt: failures, delay: delay)))
        }
        actions.append(.answerWaiters)
    }

    // MARK: - The upstream's word

    /// A 401 `invalid_token` for `resource` with this token. Retired, unless the evidence says the resource, not
    /// the token, is at fault: it refused this token while it was fresh (renewed because of this resource's 401,
    /// with no success there since), or after Covata confirmed it. A clock never keeps a token alive.
    private mutating func rejected(
        _ value: Secret, by resource: String, replaying: Bool, now: Double, into actions: inout [Action]
    ) {
        guard var held, held.token.value == value else { return }  // An older token: a replay takes the current one.
        if held.refusedBy.contains(resource) || held.renewedFor == resource {
            if held.refusedBy.count < Self.refusedByLimit, !held.refusedBy.contains(resource) {
                held.refusedBy.insert(resource)
                held.renewedFor = nil
                replaceHeld(with: held)
                actions.append(.publish)
                actions.append(.report(.resourceRefuses(jti: held.token.jti)))
            }
            return
        }
        actions.append(.report(.retired(jti: held.token.jti)))
        actions.append(.publish)
        switch phase {
        case .requesting(var flight, _):
            // The operation already running is the renewal; its result is what the 401 asked for.
            if flight.rejectedBy == nil {
                flight.rejectedBy = resource
                flight.replaying = replaying
            }
            phase = .requesting(flight, serving: nil)
        case .holding, .retrying:
            startFlight(rejectedBy: resource, replaying: replaying, into: &actions)
        case .paused(let until, _):
            phase = .paused(until: until, serving: nil)  // Nothing may be tried now; no one gets a dead token.
        case .awaitingSignIn:
            phase = .awaitingSignIn(serving: nil)
        case .idle, .stopped:
            break
        }
    }

    private mutating func replaceHeld(with held: Held) {
        switch phase {
        case .holding: phase = .holding(held)
        case .requesting(let flight, _): phase = .requesting(flight, serving: held)
        case .retrying(let at, _): phase = .retrying(at: at, serving: held)
        case .paused(let until, _): phase = .paused(until: until, serving: held)
        case .awaitingSignIn: phase = .awaitingSignIn(serving: held)
        case .idle, .stopped: break
        }
    }

    // MARK: - Reloads

    private mutating func reloaded(_ settings: Settings, _ change: Change, now: Double, into actions: inout [Action]) {
        self.settings = settings
        var serving = held
        if change == .identity {
            // Tokens of another account, client or endpoint: none is used again, and an operation in flight for
            // the old identity is abandoned (its result will not match the next ticket).
            serving = nil
            refreshToken = nil
            rejectedRefreshToken = nil
            lastIssued = nil
            handsBackCurrent = false
            failures = 0
            lastFailure = nil
            actions.append(.publish)
        }
        switch (phase, change) {
        case (.idle, _), (.stopped, _):
            break
        case (.awaitingSignIn, _):
            // Perhaps the reload came with a sign-in: look at once rather than at the next poll.
            begin(.readingStateFile, serving: serving, into: &actions)
        case (_, .identity), (.paused, .credentials), (.retrying, .credentials), (.requesting, .credentials):
            // Changed credentials end any pause or backoff and are tried at once (a request with the old ones is
            // abandoned: its refusal must not pause the new ones).
            failures = 0
            startFlight(serving: serving, into: &actions)
        case (.holding(var held), _):
            held.renewAt = min(held.renewAt, renewalTime(held.token, jitter: 0.5, now: now))
            phase = .holding(held)
            actions.append(.publish)  // The renewal margin may have changed.
        case (.paused, .none), (.retrying, .none), (.requesting, .none):
            break
        }
    }
}
