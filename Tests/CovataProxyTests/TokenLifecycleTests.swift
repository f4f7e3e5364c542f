import Testing

@testable import CovataProxy

/// The token lifecycle machine alone: events in, actions out, no clock, no network, no tasks.
@Suite struct TokenLifecycleTests {
    typealias Machine = TokenLifecycle

    static func settings(password: Bool = true) -> Machine.Settings {
        var config = TestConfigs.oauth()
        if !password {
            config.signIn = .authorizationCode(
                AuthorizationCodeConfig(
                    authorizeURL: try! EndpointURL(parsing: "https://x.example/a"),
                    redirectURI: RedirectURI("https://x.example/cb")!, pkce: true))
        }
        return Machine.Settings(config, loginCommand: "covata-proxy login")
    }

    static func token(_ name: String, at obtainedAt: Double = 0, lifetime: Double = 300, refresh: String? = nil)
        -> AccessToken
    {
        AccessToken(
            value: Secret(name), refreshToken: refresh.map(Secret.init), jti: name, scope: nil, lifetime: lifetime,
            obtainedAt: obtainedAt)
    }

    /// A machine that has started and holds `token("t1")` with refresh token "r1", obtained at 0.
    static func holding() -> Machine {
        var machine = started()
        _ = machine.handle(.obtained(token("t1", refresh: "r1")), now: 0)
        return machine
    }

    static func requests(_ actions: [Machine.Action]) -> [Machine.Grant] {
        actions.compactMap { if case .request(let grant) = $0 { grant } else { nil } }
    }

    static func wake(_ actions: [Machine.Action]) -> Double?? {
        for case .wake(let at) in actions.reversed() { return at }
        return nil
    }

    // MARK: - Table: state × event

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var setUp: @Sendable () -> Machine
        var event: Machine.Event
        var now: Double
        var phase: Machine.Phase
        var requests: [Machine.Grant]
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(
            name: "start without a state file signs in", setUp: { Machine(settings: settings()) }, event: .start(nil),
            now: 0, phase: .requesting(.init(attempt: .passwordGrant, afterRejection: false)), requests: [.signIn]),
        Row(
            name: "start with a valid stored token asks nothing",
            setUp: { Machine(settings: settings()) },
            event: .start(.init(accessToken: token("s"), refreshToken: Secret("r"))), now: 10, phase: .holding,
            requests: []),
        Row(
            name: "start with an expired stored token refreshes",
            setUp: { Machine(settings: settings()) },
            event: .start(.init(accessToken: token("s", at: -1000), refreshToken: Secret("r"))), now: 10,
            phase: .requesting(.init(attempt: .refresh(Secret("r")), afterRejection: false)),
            requests: [.refreshToken(Secret("r"))]),
        Row(
            name: "holding: a tick before the refresh margin does nothing", setUp: holding, event: .tick, now: 239,
            phase: .holding, requests: []),
        Row(
            name: "holding: the tick at the margin refreshes", setUp: holding, event: .tick, now: 240,
            phase: .requesting(.init(attempt: .refresh(Secret("r1")), afterRejection: false)),
            requests: [.refreshToken(Secret("r1"))]),
        Row(
            name: "holding: the upstream's 401 retires the token and renews at once", setUp: holding,
            event: .rejectedByUpstream(Secret("t1")), now: 5,
            phase: .requesting(.init(attempt: .refresh(Secret("r1")), afterRejection: true)),
            requests: [.refreshToken(Secret("r1"))]),
        Row(
            name: "holding: a 401 for an older token changes nothing", setUp: holding,
            event: .rejectedByUpstream(Secret("t0")), now: 5, phase: .holding, requests: []),
        Row(
            name: "refresh rejected falls back to the password grant",
            setUp: {
                var machine = holding()
                _ = machine.handle(.tick, now: 240)
                return machine
            },
            event: .failed(.grantRejected(error: "invalid_grant"), jitter: 1), now: 241,
            phase: .requesting(.init(attempt: .passwordGrant, afterRejection: false)), requests: [.signIn]),
        Row(
            name: "password rejected pauses",
            setUp: { started() },
            event: .failed(.grantRejected(error: "invalid_grant"), jitter: 1), now: 0, phase: .paused(until: 900),
            requests: []),
        Row(
            name: "transient failure backs off in the background",
            setUp: { started() },
            event: .failed(.transient(reason: "503"), jitter: 0.5), now: 0, phase: .retrying(at: 0.5), requests: []),
        Row(
            name: "paused: a caller before the pause ends asks nothing", setUp: paused, event: .tokenNeeded, now: 899,
            phase: .paused(until: 900), requests: []),
        Row(
            name: "paused: the tick at the end tries again", setUp: paused, event: .tick, now: 900,
            phase: .requesting(.init(attempt: .passwordGrant, afterRejection: false)), requests: [.signIn]),
        Row(
            name: "paused: a reload with changed credentials tries at once", setUp: paused,
            event: .reloaded(settings(), credentialsChanged: true, identityChanged: false), now: 10,
            phase: .requesting(.init(attempt: .passwordGrant, afterRejection: false)), requests: [.signIn]),
        Row(
            name: "paused: a reload with the same credentials keeps the pause", setUp: paused,
            event: .reloaded(settings(), credentialsChanged: false, identityChanged: false), now: 10,
            phase: .paused(until: 900), requests: []),
        Row(
            name: "code grant without refresh token reads the state file",
            setUp: { Machine(settings: settings(password: false)) }, event: .start(nil), now: 0,
            phase: .requesting(.init(attempt: .readingStateFile, afterRejection: false)), requests: []),
        Row(
            name: "code grant: nothing in the state file means sign-in",
            setUp: { started(password: false) },
            event: .stateFileRead(nil), now: 0, phase: .awaitingSignIn, requests: []),
        Row(
            name: "awaiting sign-in: a new refresh token in the file is used",
            setUp: awaitingSignIn, event: .stateFileRead(.init(accessToken: nil, refreshToken: Secret("new"))),
            now: 4, phase: .requesting(.init(attempt: .refresh(Secret("new")), afterRejection: false)),
            requests: [.refreshToken(Secret("new"))]),
        Row(
            name: "stopped ignores everything",
            setUp: {
                var machine = holding()
                _ = machine.handle(.stop, now: 1)
                return machine
            },
            event: .tick, now: 1000, phase: .stopped, requests: []),
    ]

    /// Started with nothing stored: a request (or, for the code grant, a look at the state file) is out.
    static func started(password: Bool = true) -> Machine {
        var machine = Machine(settings: settings(password: password))
        _ = machine.handle(.start(nil), now: 0)
        return machine
    }

    static func paused() -> Machine {
        var machine = started()
        _ = machine.handle(.failed(.credentialsRejected(error: "invalid_client"), jitter: 1), now: 0)
        return machine
    }

    static func awaitingSignIn() -> Machine {
        var machine = started(password: false)
        _ = machine.handle(.stateFileRead(nil), now: 0)
        return machine
    }

    @Test(arguments: rows)
    func transition(_ row: Row) {
        var machine = row.setUp()
        let actions = machine.handle(row.event, now: row.now)
        #expect(machine.phase == row.phase)
        #expect(Self.requests(actions) == row.requests)
    }

    // MARK: - The timing contract

    /// Revoked while the endpoint is down: the failed attempt schedules the next one itself.
    @Test func failureOnACallersBehalfSchedulesARetry() {
        var machine = Self.holding()
        _ = machine.handle(.rejectedByUpstream(Secret("t1")), now: 10)
        let actions = machine.handle(.failed(.transient(reason: "down"), jitter: 0.6), now: 10)
        #expect(Self.wake(actions) == .some(10.6))
        #expect(machine.answer(now: 10) == .unavailable(.unavailable(reason: "down", retryAfterSeconds: 1)))
        #expect(Self.requests(machine.handle(.tick, now: 10.6)) == [.refreshToken(Secret("r1"))])
    }

    @Test func renewalAfterA401IsNotRetiredAgainWithinTheInterval() {
        var machine = Self.holding()
        _ = machine.handle(.rejectedByUpstream(Secret("t1")), now: 10)
        _ = machine.handle(.obtained(Self.token("t2", at: 10)), now: 10)
        var requests = 0
        for second in 11..<40 {
            requests += Self.requests(machine.handle(.rejectedByUpstream(Secret("t2")), now: Double(second))).count
        }
        #expect(requests == 0)
        #expect(machine.current?.value == Secret("t2"))
        // Once the interval has passed, a refusal retires it again.
        #expect(Self.requests(machine.handle(.rejectedByUpstream(Secret("t2")), now: 40)).count == 1)
    }

    @Test func readinessFollowsTheTokenNotThePhase() {
        var machine = Self.holding()
        #expect(machine.usableToken(now: 100) != nil)
        // A refresh fails: the old token still serves until it stops being usable.
        _ = machine.handle(.tick, now: 240)
        _ = machine.handle(.failed(.transient(reason: "x"), jitter: 1), now: 240)
        #expect(machine.answer(now: 250) == .token(Self.token("t1", refresh: "r1")))
        #expect(machine.usableToken(now: 299.5) == nil)
    }

    @Test func aStoredRefreshTokenThatWasRejectedIsNotReadBackIn() {
        var machine = Self.awaitingSignIn()
        _ = machine.handle(.stateFileRead(.init(accessToken: nil, refreshToken: Secret("r"))), now: 1)
        _ = machine.handle(.failed(.grantRejected(error: "invalid_grant"), jitter: 1), now: 1)
        // It looks at the file once more (a newer sign-in may be there), finds the same token, and waits.
        #expect(machine.phase == .requesting(.init(attempt: .readingStateFile, afterRejection: false)))
        let reread = machine.handle(.stateFileRead(.init(accessToken: nil, refreshToken: Secret("r"))), now: 1)
        #expect(Self.requests(reread).isEmpty)
        #expect(machine.phase == .awaitingSignIn)
        let actions = machine.handle(.stateFileRead(.init(accessToken: nil, refreshToken: Secret("r"))), now: 3)
        #expect(Self.requests(actions).isEmpty)
        #expect(machine.phase == .awaitingSignIn)
    }

    // MARK: - Random sequences against invariants

    /// Drives the machine with random events (seeded, so a failure replays) and checks after every step what must
    /// always hold: one token request at most; no attempt with rejected credentials before a change or the end of
    /// the pause; a wake-up whenever nothing is in flight and no token is usable; readiness exactly when a usable
    /// token exists.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func randomSequencesKeepTheInvariants(seed: UInt64) {
        var random = SplitMix(seed: seed)
        var machine = Machine(settings: Self.settings(password: seed % 2 == 0))
        var now = 0.0
        var inFlight: Machine.Grant?
        var readingFile = false
        var wake: Double?
        var serial = 0
        var pausedUntil: Double?  // set while rejected credentials must not be tried
        var issued: [AccessToken] = []

        func apply(_ event: Machine.Event) {
            let actions = machine.handle(event, now: now)
            for action in actions {
                switch action {
                case .request(let grant):
                    #expect(inFlight == nil, "seed \(seed): a second token request while one is in flight")
                    if let until = pausedUntil {
                        #expect(now >= until, "seed \(seed): credentials tried again during the pause")
                    }
                    inFlight = grant
                case .readStateFile: readingFile = true
                case .wake(let at): wake = at
                default: break
                }
            }
            if case .paused(let until) = machine.phase { pausedUntil = until }
            if case .stopped = machine.phase { return }
            let usable = machine.usableToken(now: now) != nil
            if inFlight == nil, !readingFile, !usable, machine.phase != .idle {
                #expect(wake != nil, "seed \(seed): no token, nothing in flight and no wake-up in \(machine.phase)")
            }
            if case .token = machine.answer(now: now) { #expect(usable) } else { #expect(!usable) }
        }

        apply(.start(nil))
        for _ in 0..<3000 {
            switch random.next(13) {
            case 0, 1:
                now += Double(random.next(400)) / 4
                if let at = wake, now >= at {
                    wake = nil  // The timer went off.
                    apply(.tick)
                }
            case 2: apply(.tokenNeeded)
            case 3, 4:
                guard inFlight != nil else { continue }
                inFlight = nil
                serial += 1
                let token = Self.token("t\(serial)", at: now, lifetime: 300, refresh: "r\(serial)")
                issued.append(token)
                apply(.obtained(token))
            case 5:
                guard inFlight != nil else { continue }
                inFlight = nil
                apply(.failed(.transient(reason: "x"), jitter: Double(random.next(100)) / 100))
            case 6:
                guard inFlight != nil else { continue }
                inFlight = nil
                apply(.failed(.grantRejected(error: "invalid_grant"), jitter: 1))
            case 7:
                guard inFlight != nil else { continue }
                inFlight = nil
                apply(.failed(.credentialsRejected(error: "invalid_client"), jitter: 1))
            case 8:
                guard readingFile else { continue }
                readingFile = false
                let found = random.next(2) == 0 ? nil : Secret("s\(random.next(3))")
                apply(.stateFileRead(found.map { .init(accessToken: nil, refreshToken: $0) }))
            case 9, 10:
                guard let token = issued.randomElement(using: &random) else { continue }
                apply(.rejectedByUpstream(token.value))
            case 11:
                let changed = random.next(2) == 0
                if changed { pausedUntil = nil }
                apply(.reloaded(machine.settings, credentialsChanged: changed, identityChanged: false))
            default:
                // A timer that fires early (clocks round): nothing due may happen, but the wake-up must stay armed.
                wake = nil
                apply(.tick)
            }
        }
    }
}
