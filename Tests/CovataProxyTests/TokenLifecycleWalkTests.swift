import Testing

@testable import CovataProxy

/// The token lifecycle driven by seeded random events — results for current and abandoned tickets, Covata handing
/// the same token back, identity-changing reloads, refusals and successes for several resources — and checked after
/// every step against what must always hold. A failing seed replays exactly.
@Suite struct TokenLifecycleWalkTests {
    typealias Machine = TokenLifecycle

    /// The world around the machine: what it asked for and has not been answered, what callers wait for.
    struct World {
        var machine: Machine
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
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomSequencesKeepTheInvariants(seed: UInt64) {
        var random = SplitMix(seed: seed)
        var world = World(machine: Machine(settings: TokenLifecycleTests.settings(password: seed % 2 == 0)))
        apply(.start(nil), to: &world, seed: seed)
        for _ in 0..<3000 {
            step(&world, random: &random, seed: seed)
        }
    }

    private func step(_ world: inout World, random: inout SplitMix, seed: UInt64) {
        let resources = ["/a", "/b", "/bad"]
        switch random.next(16) {
        case 0, 1:
            world.now += Double(random.next(400)) / 4
            if let at = world.wake, world.now >= at {
                world.wake = nil  // The timer went off.
                apply(.tick, to: &world, seed: seed)
            }
        case 2:
            apply(.tokenNeeded, to: &world, seed: seed)
            if world.machine.answer(now: world.now) == .wait { world.waiting = true }
        case 3, 4, 5:
            // An answer to any outstanding request, the current one or one the machine has moved past.
            guard let (ticket, isFile) = world.outstanding.randomElement(using: &random) else { return }
            world.outstanding[ticket] = nil
            if isFile {
                let found = random.next(2) == 0 ? nil : Secret("s\(random.next(3))")
                apply(
                    .stateFileRead(found.map { .init(accessToken: nil, refreshToken: $0) }, ticket: ticket),
                    to: &world, seed: seed)
                return
            }
            let jitter = Double(random.next(100)) / 100
            switch random.next(6) {
            case 0:
                apply(.failed(.transient(reason: "x"), ticket: ticket, jitter: jitter), to: &world, seed: seed)
            case 1:
                apply(
                    .failed(.grantRejected(error: "invalid_grant"), ticket: ticket, jitter: 1), to: &world, seed: seed)
            case 2 where random.next(4) == 0:
                apply(
                    .failed(.credentialsRejected(error: "invalid_client"), ticket: ticket, jitter: 1), to: &world,
                    seed: seed)
            case 3 where !world.issued.isEmpty:
                // Spring's token store: the token already issued, with what is left of it (maybe nothing).
                let last = world.issued[world.issued.count - 1]
                let left = max(0, (last.expiresAt - world.now).rounded(.down))
                let again = AccessToken(
                    value: last.value, refreshToken: last.refreshToken, jti: last.jti, scope: nil, lifetime: left,
                    obtainedAt: world.now)
                apply(.obtained(again, ticket: ticket, jitter: jitter), to: &world, seed: seed)
            default:
                world.serial += 1
                let token = AccessToken(
                    value: Secret("t\(world.serial)"), refreshToken: Secret("r\(world.serial)"), jti: nil, scope: nil,
                    lifetime: Double(30 + random.next(300)), obtainedAt: world.now)
                world.issued.append(token)
                apply(.obtained(token, ticket: ticket, jitter: jitter), to: &world, seed: seed)
            }
        case 6, 7, 8:
            guard let token = world.issued.randomElement(using: &random) else { return }
            let resource = resources[random.next(resources.count)]
            apply(
                .rejectedByUpstream(token.value, resource: resource, replaying: random.next(3) > 0), to: &world,
                seed: seed)
        case 9:
            guard let token = world.issued.randomElement(using: &random) else { return }
            apply(.acceptedByUpstream(token.value, resource: resources[random.next(2)]), to: &world, seed: seed)
        case 10:
            let change = [Machine.Change.none, .credentials, .identity][random.next(3)]
            if change != .none { world.pausedUntil = nil }
            if change == .identity {
                for token in world.issued { world.foreign.insert(token.value.value) }
                world.issued.removeAll()
            }
            apply(.reloaded(world.machine.settings, change), to: &world, seed: seed)
        default:
            // A timer that fires early (clocks round): nothing due may happen, but the wake-up must stay armed.
            world.wake = nil
            apply(.tick, to: &world, seed: seed)
        }
    }

    private func apply(_ event: Machine.Event, to world: inout World, seed: UInt64) {
        let before = world.machine
        let actions = world.machine.handle(event, now: world.now)
        let machine = world.machine
        for action in actions {
            switch action {
            case .request(_, let ticket), .readStateFile(let ticket):
                // One operation at a time: every other outstanding ticket is one the machine has moved past.
                if let until = world.pausedUntil, case .request = action {
                    #expect(world.now >= until, "seed \(seed): credentials tried again during the pause")
                }
                world.outstanding[ticket] = { if case .readStateFile = action { true } else { false } }()
            case .wake(let at): world.wake = at
            case .answerWaiters: world.waiting = false
            default: break
            }
        }
        let requests = actions.filter {
            if case .request = $0 { true } else if case .readStateFile = $0 { true } else { false }
        }
        #expect(requests.count <= 1, "seed \(seed): two token operations from one event")
        // A result for a ticket the machine moved past changes nothing at all.
        switch event {
        case .obtained(_, let ticket, _), .failed(_, let ticket, _), .stateFileRead(_, let ticket):
            if case .requesting(let flight, _) = before.phase, flight.ticket == ticket {
                break
            }
            #expect(machine.phase == before.phase, "seed \(seed): a stale result moved the machine")
            #expect(actions.allSatisfy { if case .wake = $0 { true } else { false } })
        default:
            break
        }
        if case .paused(let until, _) = machine.phase { world.pausedUntil = until }
        if case .stopped = machine.phase { return }
        let usable = machine.usableToken(now: world.now)
        if let usable {
            #expect(!world.foreign.contains(usable.value.value), "seed \(seed): another identity's token handed out")
        }
        // Liveness: a caller told to wait is answered by the flight in progress, or by one an armed timer starts.
        var inFlight = false
        if case .requesting = machine.phase { inFlight = true }
        if world.waiting {
            #expect(inFlight || world.wake != nil, "seed \(seed): a caller waits with nothing to wake it")
        }
        if !inFlight, usable == nil, machine.phase != .idle {
            #expect(world.wake != nil, "seed \(seed): no token, nothing in flight and no wake-up")
        }
        // Readiness is a usable token, exactly.
        if case .token = machine.answer(now: world.now) { #expect(usable != nil) } else { #expect(usable == nil) }
    }
}
