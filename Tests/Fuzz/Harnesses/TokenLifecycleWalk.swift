@testable import CovataProxy
@testable import ProxyConfiguration

/// The token lifecycle driven by a sequence of events — results for current and abandoned tickets, Covata handing
/// the same token back, identity-changing reloads, refusals and successes for several resources — checked after
/// every step against what must always hold. The choices come from a seed (`TokenLifecycleWalkTests`) or from the
/// fuzzer's bytes; either replays exactly.
public struct TokenLifecycleWalk {
    typealias Machine = TokenLifecycle

    var machine: Machine
    var choices: Choices
    var now = 0.0
    /// Tickets asked for and not answered yet, with whether each was a state-file look.
    var outstanding: [Int: Bool] = [:]
    var wake: Double?
    var pausedUntil: Double?
    /// A caller was told to wait and has not been answered since.
    var waiting = false
    /// Tokens issued for the current identity; everything else must never be handed out.
    var issued: [AccessToken] = []
    var foreign: Set<String> = []
    var serial = 0

    public init(choices: Choices, password: Bool) {
        self.choices = choices
        let config = OAuthConfig(
            tokenURL: try! EndpointURL(parsing: "http://127.0.0.1:9/api/oauth/token"), clientID: "client",
            clientSecret: Secret("client-secret"),
            signIn: password
                ? .password(username: "svc@example.com", password: Secret("pw"))
                : .authorizationCode(
                    AuthorizationCodeConfig(
                        authorizeURL: try! EndpointURL(parsing: "https://x.example/a"),
                        redirectURI: RedirectURI("https://x.example/cb")!, pkce: true)),
            scope: nil, stateFile: nil, refreshAheadSeconds: 60, defaultLifetimeSeconds: 300,
            rejectedRetrySeconds: 900, retryInitialSeconds: 1, retryMaxSeconds: 60)
        machine = Machine(settings: Machine.Settings(config, loginCommand: "covata-proxy login"))
    }

    /// Starts the machine and takes `steps` steps (or until the fuzzer's bytes run out).
    public mutating func walk(steps: Int) throws(OracleFailure) {
        try apply(.start(nil))
        for _ in 0..<steps where !choices.exhausted { try step() }
    }

    static func fuzz(_ bytes: [UInt8]) throws(OracleFailure) {
        var choices = Choices(bytes)
        let password = choices.byte() & 1 == 0
        var walk = TokenLifecycleWalk(choices: choices, password: password)
        try walk.walk(steps: 10_000)
    }

    private mutating func step() throws(OracleFailure) {
        let resources = ["/a", "/b", "/bad"]
        switch choices.next(16) {
        case 0, 1:
            now += Double(choices.next(400)) / 4
            if let at = wake, now >= at {
                wake = nil  // The timer went off.
                try apply(.tick)
            }
        case 2:
            try apply(.tokenNeeded)
            if machine.answer(now: now) == .wait { waiting = true }
        case 3, 4, 5:
            // An answer to any outstanding request, the current one or one the machine has moved past.
            let waiting = outstanding.sorted { $0.key < $1.key }
            guard !waiting.isEmpty else { return }
            let (ticket, isFile) = waiting[choices.next(waiting.count)]
            outstanding[ticket] = nil
            if isFile {
                let found = choices.next(2) == 0 ? nil : Secret("s\(choices.next(3))")
                try apply(.stateFileRead(found.map { .init(accessToken: nil, refreshToken: $0) }, ticket: ticket))
                return
            }
            let jitter = Double(choices.next(100)) / 100
            switch choices.next(6) {
            case 0:
                try apply(.failed(.transient(reason: "x"), ticket: ticket, jitter: jitter))
            case 1:
                try apply(.failed(.grantRejected(error: "invalid_grant"), ticket: ticket, jitter: 1))
            case 2 where choices.next(4) == 0:
                try apply(.failed(.credentialsRejected(error: "invalid_client"), ticket: ticket, jitter: 1))
            case 3 where !issued.isEmpty:
                // Spring's token store: the token already issued, with what is left of it (maybe nothing).
                let last = issued[issued.count - 1]
                let left = max(0, (last.expiresAt - now).rounded(.down))
                let again = AccessToken(
                    value: last.value, refreshToken: last.refreshToken, jti: last.jti, scope: nil, lifetime: left,
                    obtainedAt: now)
                try apply(.obtained(again, ticket: ticket, jitter: jitter))
            default:
                serial += 1
                let token = AccessToken(
                    value: Secret("t\(serial)"), refreshToken: Secret("r\(serial)"), jti: nil, scope: nil,
                    lifetime: Double(30 + choices.next(300)), obtainedAt: now)
                issued.append(token)
                try apply(.obtained(token, ticket: ticket, jitter: jitter))
            }
        case 6, 7, 8:
            guard !issued.isEmpty else { return }
            let token = issued[choices.next(issued.count)]
            let resource = resources[choices.next(resources.count)]
            try apply(.rejectedByUpstream(token.value, resource: resource, replaying: choices.next(3) > 0))
        case 9:
            guard !issued.isEmpty else { return }
            let token = issued[choices.next(issued.count)]
            try apply(.acceptedByUpstream(token.value, resource: resources[choices.next(2)]))
        case 10:
            let change = [Machine.Change.none, .credentials, .identity][choices.next(3)]
            if change != .none { pausedUntil = nil }
            if change == .identity {
                for token in issued { foreign.insert(token.value.value) }
                issued.removeAll()
            }
            try apply(.reloaded(machine.settings, change))
        default:
            // A timer that fires early (clocks round): nothing due may happen, but the wake-up must stay armed.
            wake = nil
            try apply(.tick)
        }
    }

    private mutating func apply(_ event: Machine.Event) throws(OracleFailure) {
        let before = machine
        let actions = machine.handle(event, now: now)
        for action in actions {
            switch action {
            case .request(_, let ticket), .readStateFile(let ticket):
                // One operation at a time: every other outstanding ticket is one the machine has moved past.
                if let until = pausedUntil, case .request = action {
                    try require(now >= until, "credentials tried again during the pause")
                }
                outstanding[ticket] = { if case .readStateFile = action { true } else { false } }()
            case .wake(let at): wake = at
            case .answerWaiters: waiting = false
            default: break
            }
        }
        let requests = actions.filter {
            if case .request = $0 { true } else if case .readStateFile = $0 { true } else { false }
        }
        try require(requests.count <= 1, "two token operations from one event")
        // A result for a ticket the machine moved past changes nothing at all.
        switch event {
        case .obtained(_, let ticket, _), .failed(_, let ticket, _), .stateFileRead(_, let ticket):
            if case .requesting(let flight, _) = before.phase, flight.ticket == ticket { break }
            try require(machine.phase == before.phase, "a stale result moved the machine")
            try require(actions.allSatisfy { if case .wake = $0 { true } else { false } }, "a stale result acted")
        default:
            break
        }
        if case .paused(let until, _) = machine.phase { pausedUntil = until }
        if case .stopped = machine.phase { return }
        let usable = machine.usableToken(now: now)
        if let usable { try require(!foreign.contains(usable.value.value), "another identity's token handed out") }
        // Liveness: a caller told to wait is answered by the flight in progress, or by one an armed timer starts.
        var inFlight = false
        if case .requesting = machine.phase { inFlight = true }
        if waiting { try require(inFlight || wake != nil, "a caller waits with nothing to wake it") }
        if !inFlight, usable == nil, machine.phase != .idle {
            try require(wake != nil, "no token, nothing in flight and no wake-up")
        }
        // Readiness is a usable token, exactly.
        let ready = if case .token = machine.answer(now: now) { true } else { false }
        try require(ready == (usable != nil), "readiness and a usable token disagree")
    }
}
