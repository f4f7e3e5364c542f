import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// The token lifecycle machine alone: events in, actions out, no clock, no network, no tasks.
@Suite struct TokenLifecycleTests {
    typealias Machine = TokenLifecycle

    static let password = TokenGrant.password(
        username: "svc-legacy@example.com", password: Secret("correct horse battery staple"))

    static func settings(password: Bool = true) -> Machine.Settings {
        Machine.Settings(config(password: password), loginCommand: "covata-proxy login")
    }

    static func config(password: Bool = true) -> OAuthConfig {
        var config = TestConfigs.oauth()
        if !password {
            config.signIn = .authorizationCode(
                AuthorizationCodeConfig(
                    authorizeURL: try! EndpointURL(parsing: "https://x.example/a"),
                    redirectURI: RedirectURI("https://x.example/cb")!, pkce: true))
        }
        return config
    }

    static func token(_ name: String, at obtainedAt: Double = 0, lifetime: Double = 300, refresh: String? = nil)
        -> AccessToken
    {
        AccessToken(
            value: Secret(name), refreshToken: refresh.map(Secret.init), jti: name, scope: nil, lifetime: lifetime,
            obtainedAt: obtainedAt)
    }

    /// The ticket of the flight in progress (0 when none).
    static func ticket(_ machine: Machine) -> Int {
        if case .requesting(let flight, _) = machine.phase { return flight.ticket }
        return 0
    }

    /// Feeds the flight in progress its token.
    @discardableResult
    static func obtain(_ machine: inout Machine, _ token: AccessToken, at now: Double, jitter: Double = 0.5)
        -> [Machine.Action]
    {
        machine.handle(.obtained(token, ticket: ticket(machine), jitter: jitter), now: now)
    }

    /// Started, holding `token("t1")` (300 s, refresh token "r1") obtained at 0.
    static func holding(password: Bool = true) -> Machine {
        var machine = started(password: password)
        if !password {
            let stored = Machine.Stored(accessToken: nil, refreshToken: Secret("r0"))
            _ = machine.handle(.stateFileRead(stored, ticket: ticket(machine)), now: 0)
        }
        obtain(&machine, token("t1", refresh: "r1"), at: 0)
        return machine
    }

    static func started(password: Bool = true) -> Machine {
        var machine = Machine(settings: settings(password: password))
        _ = machine.handle(.start(nil), now: 0)
        return machine
    }

    static func paused() -> Machine {
        var machine = started()
        _ = machine.handle(.failed(.credentialsRejected(error: "invalid_client"), ticket: 1, jitter: 1), now: 0)
        return machine
    }

    static func awaitingSignIn() -> Machine {
        var machine = started(password: false)
        _ = machine.handle(.stateFileRead(nil, ticket: 1), now: 0)
        return machine
    }

    static func requests(_ actions: [Machine.Action]) -> [TokenGrant] {
        actions.compactMap { if case .request(let grant, _) = $0 { grant } else { nil } }
    }

    static func wake(_ actions: [Machine.Action]) -> Double?? {
        for case .wake(let at) in actions.reversed() { return at }
        return nil
    }

    /// The phase's name, for tables (the phases carry tokens and tickets).
    static func name(_ phase: Machine.Phase) -> String {
        switch phase {
        case .idle: "idle"
        case .holding: "holding"
        case .requesting(let flight, _):
            switch flight.attempt {
            case .signIn: "requesting password"
            case .refresh: "requesting refresh"
            case .readingStateFile: "reading state file"
            case .storedRefresh: "requesting stored refresh"
            }
        case .retrying: "retrying"
        case .paused: "paused"
        case .awaitingSignIn: "awaiting sign-in"
        case .stopped: "stopped"
        }
    }

    // MARK: - Table: state × event

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var setUp: @Sendable () -> Machine
        var event: Machine.Event
        var now: Double
        var phase: String
        var requests: [TokenGrant]
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(
            name: "start without a state file signs in", setUp: { Machine(settings: settings()) }, event: .start(nil),
            now: 0, phase: "requesting password", requests: [password]),
        Row(
            name: "start with a valid stored token asks nothing", setUp: { Machine(settings: settings()) },
            event: .start(.init(accessToken: token("s"), refreshToken: Secret("r"))), now: 10, phase: "holding",
            requests: []),
        Row(
            name: "password grant: an expired stored token signs in again (never a refresh)",
            setUp: { Machine(settings: settings()) },
            event: .start(.init(accessToken: token("s", at: -1000), refreshToken: Secret("r"))), now: 10,
            phase: "requesting password", requests: [password]),
        Row(
            name: "code grant: an expired stored token refreshes",
            setUp: { Machine(settings: settings(password: false)) },
            event: .start(.init(accessToken: token("s", at: -1000), refreshToken: Secret("r"))), now: 10,
            phase: "requesting refresh", requests: [.refreshToken(Secret("r"))]),
        Row(
            name: "holding: a tick before the renewal does nothing", setUp: { holding() }, event: .tick, now: 200,
            phase: "holding", requests: []),
        Row(
            name: "holding: the tick at the renewal signs in again", setUp: { holding() }, event: .tick, now: 260,
            phase: "requesting password", requests: [password]),
        Row(
            name: "code grant, holding: the tick at the renewal refreshes", setUp: { holding(password: false) },
            event: .tick, now: 260, phase: "requesting refresh", requests: [.refreshToken(Secret("r1"))]),
        Row(
            name: "holding: the upstream's 401 retires the token and renews at once", setUp: { holding() },
            event: .rejectedByUpstream(Secret("t1"), resource: "/a"), now: 5, phase: "requesting password",
            requests: [password]),
        Row(
            name: "holding: a 401 for an older token changes nothing", setUp: { holding() },
            event: .rejectedByUpstream(Secret("t0"), resource: "/a"), now: 5, phase: "holding", requests: []),
        Row(
            name: "code grant: a refused refresh token sends it to the state file",
            setUp: {
                var machine = holding(password: false)
                _ = machine.handle(.tick, now: 260)
                return machine
            },
            event: .failed(.grantRejected(error: "invalid_grant"), ticket: 3, jitter: 1), now: 261,
            phase: "reading state file", requests: []),
        Row(
            name: "a refused password pauses", setUp: { started() },
            event: .failed(.grantRejected(error: "invalid_grant"), ticket: 1, jitter: 1), now: 0, phase: "paused",
            requests: []),
        Row(
            name: "a transient failure backs off in the background", setUp: { started() },
            event: .failed(.transient(reason: "503"), ticket: 1, jitter: 0.5), now: 0, phase: "retrying",
            requests: []),
        Row(
            name: "a result for an abandoned ticket is dropped", setUp: { started() },
            event: .obtained(token("old"), ticket: 0, jitter: 0.5), now: 0, phase: "requesting password",
            requests: []),
        Row(
            name: "paused: a caller before the pause ends asks nothing", setUp: paused, event: .tokenNeeded, now: 899,
            phase: "paused", requests: []),
        Row(
            name: "paused: the tick at the end tries again", setUp: paused, event: .tick, now: 900,
            phase: "requesting password", requests: [password]),
        Row(
            name: "paused: a reload with changed credentials tries at once", setUp: paused,
            event: .reloaded(settings(), .credentials), now: 10, phase: "requesting password", requests: [password]),
        Row(
            name: "paused: a reload with the same credentials keeps the pause", setUp: paused,
            event: .reloaded(settings(), .none), now: 10, phase: "paused", requests: []),
        Row(
            name: "requesting: a reload with another identity starts over", setUp: { started() },
            event: .reloaded(settings(), .identity), now: 1, phase: "requesting password", requests: [password]),
        Row(
            name: "code grant without refresh token reads the state file",
            setUp: { Machine(settings: settings(password: false)) }, event: .start(nil), now: 0,
            phase: "reading state file", requests: []),
        Row(
            name: "code grant: nothing in the state file means sign-in", setUp: { started(password: false) },
            event: .stateFileRead(nil, ticket: 1), now: 0, phase: "awaiting sign-in", requests: []),
        Row(
            name: "awaiting sign-in: a new refresh token in the file is used",
            setUp: {
                var machine = awaitingSignIn()
                _ = machine.handle(.tick, now: 2)  // the poll: a look at the file, ticket 2
                return machine
            },
            event: .stateFileRead(.init(accessToken: nil, refreshToken: Secret("new")), ticket: 2), now: 4,
            phase: "requesting stored refresh", requests: [.refreshToken(Secret("new"))]),
        Row(
            name: "stopped ignores everything",
            setUp: {
                var machine = holding()
                _ = machine.handle(.stop, now: 1)
                return machine
            },
            event: .tick, now: 1000, phase: "stopped", requests: []),
    ]

    @Test(arguments: rows)
    func transition(_ row: Row) {
        var machine = row.setUp()
        let actions = machine.handle(row.event, now: row.now)
        #expect(Self.name(machine.phase) == row.phase)
        #expect(Self.requests(actions) == row.requests)
    }

    /// Whole action lists, where the order matters to the executor: waiters are answered after the snapshot is
    /// published, and the timer is armed last.
    @Test func actionListsInFull() {
        var machine = Self.started()
        let first = Self.obtain(&machine, Self.token("t1"), at: 0, jitter: 0)
        #expect(
            first == [
                .persist(Self.token("t1"), refreshToken: nil), .report(.obtained(Self.token("t1"), grant: "password")),
                .publish, .answerWaiters, .wake(at: 240),
            ])
        let retired = machine.handle(.rejectedByUpstream(Secret("t1"), resource: "/a"), now: 5)
        #expect(
            retired == [
                .report(.retired(jti: "t1")), .publish, .request(Self.password, ticket: 2), .wake(at: nil),
            ])
    }

    /// Under the code grant the refresh token renews, and a rotated one replaces the one spent.
    @Test func codeGrantKeepsTheRotatedRefreshToken() {
        var machine = Self.holding(password: false)
        #expect(Self.requests(machine.handle(.tick, now: 260)) == [.refreshToken(Secret("r1"))])
        Self.obtain(&machine, Self.token("t2", at: 260, refresh: "r2"), at: 260)
        #expect(Self.requests(machine.handle(.tick, now: 520)) == [.refreshToken(Secret("r2"))])
    }

    // MARK: - Covata's token store

    /// Issue #25, 4: Spring hands the token already issued back to a sign-in before it expires. That is no renewal:
    /// the next attempt is just after its real end, and so is every later token's.
    @Test func theSameTokenHandedBackIsRenewedWhenItExpires() {
        var machine = Self.holding()
        var requests = 0
        // The renewal ahead of expiry (at 240 to 270) gets the same token back, with its remaining lifetime.
        requests += Self.requests(machine.handle(.tick, now: 260)).count
        let actions = Self.obtain(&machine, Self.token("t1", at: 260, lifetime: 40), at: 260)
        #expect(actions.contains(.report(.handedBack(jti: "t1", renewInSeconds: 41))))
        #expect(machine.handsBackCurrent)
        #expect(machine.renewAt == 301)
        // No loop: nothing more until then, however many callers ask.
        for second in stride(from: 261.0, to: 301, by: 0.5) {
            requests += Self.requests(machine.handle(.tokenNeeded, now: second)).count
        }
        #expect(requests == 1)
        // Between the end of handing it out and its renewal, callers wait rather than fail.
        #expect(machine.answer(now: 299.5) == .wait)
        #expect(Self.requests(machine.handle(.tick, now: 301)) == [Self.password])
        Self.obtain(&machine, Self.token("t2", at: 301), at: 301)
        // A token store is known now: the next token, too, is renewed at its end, not ahead of it.
        #expect(machine.renewAt == 602)
    }

    /// Issue #25, 6 with 4: `expires_in: 0` on the token handed back means it has less than a second left.
    @Test func aTokenHandedBackWithNoTimeLeftIsWaitedOut() {
        var machine = Self.holding()
        _ = machine.handle(.tick, now: 299)
        Self.obtain(&machine, Self.token("t1", at: 299, lifetime: 0), at: 299)
        #expect(machine.answer(now: 299) == .wait)
        #expect(machine.renewAt == 300)
        #expect(Self.requests(machine.handle(.tick, now: 300)) == [Self.password])
    }

    @Test func aNewTokenThatHasAlreadyExpiredIsAFailure() {
        var machine = Self.started()
        Self.obtain(&machine, Self.token("t1", lifetime: 0), at: 0)
        #expect(Self.name(machine.phase) == "retrying")
        #expect(machine.lastFailure == .transient(reason: "token endpoint answered an expired token"))
    }

    /// Issue #25, 5: sidecars that got the same token renew at different moments.
    @Test func renewalsAheadOfExpiryAreSpread() {
        var early = Self.started()
        var late = Self.started()
        Self.obtain(&early, Self.token("t"), at: 0, jitter: 0)
        Self.obtain(&late, Self.token("t"), at: 0, jitter: 1)
        #expect(early.renewAt == 240)
        #expect(late.renewAt == 270)
    }

    // MARK: - 401s bounded by evidence

    /// Issue #25, 3: a resource that refuses a fresh token is at fault; its 401s no longer renew, others' still do.
    @Test func aResourceThatRefusesAFreshTokenIsAtFault() {
        var machine = Self.holding()
        var requests = Self.requests(machine.handle(.rejectedByUpstream(Secret("t1"), resource: "/bad"), now: 10))
        Self.obtain(&machine, Self.token("t2", at: 10), at: 10)
        #expect(machine.usableToken(now: 10)?.probation == "/bad")
        // The replay with the fresh token is refused too: the resource, not the token.
        for second in 11..<30 {
            requests += Self.requests(
                machine.handle(.rejectedByUpstream(Secret("t2"), resource: "/bad"), now: Double(second)))
        }
        #expect(requests.count == 1)
        #expect(machine.held?.token.value == Secret("t2"))
        #expect(machine.held?.refusedBy == ["/bad"])
        // Another resource's 401 is still the token's death.
        #expect(Self.requests(machine.handle(.rejectedByUpstream(Secret("t2"), resource: "/good"), now: 30)).count == 1)
    }

    /// Issue #25, 2: once the replay after a renewal succeeds, the renewal was right; the next revocation renews.
    @Test func aSuccessAfterTheRenewalEndsTheProbation() {
        var machine = Self.holding()
        _ = machine.handle(.rejectedByUpstream(Secret("t1"), resource: "/a"), now: 10)
        Self.obtain(&machine, Self.token("t2", at: 10), at: 10)
        _ = machine.handle(.acceptedByUpstream(Secret("t2"), resource: "/a"), now: 10)
        #expect(machine.usableToken(now: 11)?.probation == nil)
        // Revoked again seven seconds later: renewed at once, not kept by any clock.
        #expect(Self.requests(machine.handle(.rejectedByUpstream(Secret("t2"), resource: "/a"), now: 17)).count == 1)
    }

    /// Covata confirming the token (handing it back after a 401) is evidence against the resource at once.
    @Test func aTokenHandedBackAfterA401ConvictsTheResource() {
        var machine = Self.holding()
        _ = machine.handle(.rejectedByUpstream(Secret("t1"), resource: "/bad"), now: 10)
        Self.obtain(&machine, Self.token("t1", lifetime: 290, refresh: "r1"), at: 10)
        #expect(machine.held?.refusedBy == ["/bad"])
        #expect(Self.requests(machine.handle(.rejectedByUpstream(Secret("t1"), resource: "/bad"), now: 11)).isEmpty)
    }

    // MARK: - Reloads

    /// Issue #25: an identity-changing reload during a request must not adopt the old account's token.
    @Test func aResultForTheOldIdentityIsDroppedAfterAReload() {
        var machine = Self.started()
        let oldTicket = Self.ticket(machine)
        let actions = machine.handle(.reloaded(Self.settings(), .identity), now: 1)
        #expect(Self.requests(actions) == [Self.password])
        _ = machine.handle(.obtained(Self.token("old-account"), ticket: oldTicket, jitter: 0.5), now: 2)
        #expect(machine.usableToken(now: 2) == nil)
        #expect(machine.answer(now: 2) == .wait)
        Self.obtain(&machine, Self.token("new-account", at: 2), at: 2)
        #expect(machine.usableToken(now: 2)?.value == Secret("new-account"))
    }

    struct ChangeRow: Sendable, CustomTestStringConvertible {
        var name: String
        var change: @Sendable (inout OAuthConfig) -> Void
        var expected: Machine.Change
        var testDescription: String { name }
    }

    static let changes: [ChangeRow] = [
        ChangeRow(name: "nothing", change: { _ in }, expected: .none),
        ChangeRow(name: "timing only", change: { $0.refreshAheadSeconds = 5 }, expected: .none),
        ChangeRow(name: "client secret", change: { $0.clientSecret = Secret("other") }, expected: .credentials),
        ChangeRow(
            name: "password",
            change: { $0.signIn = .password(username: "svc-legacy@example.com", password: Secret("new")) },
            expected: .credentials),
        ChangeRow(
            name: "username", change: { $0.signIn = .password(username: "other@example.com", password: Secret("x")) },
            expected: .identity),
        ChangeRow(name: "client ID", change: { $0.clientID = "other" }, expected: .identity),
        ChangeRow(name: "scope", change: { $0.scope = "read" }, expected: .identity),
        ChangeRow(
            name: "token URL", change: { $0.tokenURL = try! EndpointURL(parsing: "http://127.0.0.1:8/t") },
            expected: .identity),
        ChangeRow(name: "grant", change: { $0.signIn = config(password: false).signIn }, expected: .identity),
    ]

    @Test(arguments: changes)
    func whatAReloadChanged(_ row: ChangeRow) {
        let old = Self.config()
        var new = old
        row.change(&new)
        #expect(Machine.Change.between(old, new) == row.expected)
    }

    // MARK: - The timing contract

    /// Revoked while the endpoint is down: the failed attempt schedules the next one itself.
    @Test func failureOnACallersBehalfSchedulesARetry() {
        var machine = Self.holding()
        _ = machine.handle(.rejectedByUpstream(Secret("t1"), resource: "/a"), now: 10)
        let actions = machine.handle(.failed(.transient(reason: "down"), ticket: 2, jitter: 0.6), now: 10)
        #expect(Self.wake(actions) == .some(10.6))
        #expect(machine.answer(now: 10) == .unavailable(.unavailable(reason: "down", retryAfterSeconds: 1)))
        #expect(Self.requests(machine.handle(.tick, now: 10.6)) == [Self.password])
    }

    @Test func readinessFollowsTheTokenNotThePhase() {
        var machine = Self.holding()
        #expect(machine.usableToken(now: 100) != nil)
        // A renewal fails: the old token still serves until it stops being usable.
        _ = machine.handle(.tick, now: 260)
        _ = machine.handle(.failed(.transient(reason: "x"), ticket: 2, jitter: 1), now: 260)
        #expect(machine.answer(now: 270) == .token(Self.token("t1", refresh: "r1")))
        #expect(machine.usableToken(now: 299.5) == nil)
    }

    @Test func aStoredRefreshTokenThatWasRejectedIsNotReadBackIn() {
        var machine = Self.awaitingSignIn()
        _ = machine.handle(.tick, now: 1)
        _ = machine.handle(
            .stateFileRead(.init(accessToken: nil, refreshToken: Secret("r")), ticket: Self.ticket(machine)), now: 1)
        _ = machine.handle(
            .failed(.grantRejected(error: "invalid_grant"), ticket: Self.ticket(machine), jitter: 1), now: 1)
        #expect(Self.name(machine.phase) == "awaiting sign-in")
        _ = machine.handle(.tick, now: 3)
        let reread = machine.handle(
            .stateFileRead(.init(accessToken: nil, refreshToken: Secret("r")), ticket: Self.ticket(machine)), now: 3)
        #expect(Self.requests(reread).isEmpty)
        #expect(Self.name(machine.phase) == "awaiting sign-in")
    }
}
