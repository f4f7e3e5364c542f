import NIOCore
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// `ClientClock` without a channel: the client sends, time moves by hand, and the timer's firings must say exactly
/// what the connection's timer does. Limits: head 1 s, body pause 1 s, idle 2 s, first request 1 s.
@Suite struct ClientClockTests {
    enum Step: Sendable {
        /// The cycle moves on (as the connection's handler moves it).
        case enter(ConnectionPhase)
        /// Bytes arrive, and the read is over; `held`: the handlers behind do not ask for the next read at once.
        case bytes(Int, held: Bool = false)
        /// The handlers behind ask for the next read.
        case readAsked
        /// The timer fires at this many milliseconds since the start (the clock's expected answer beside it).
        case fire(at: Int64)
    }

    struct Row: CustomTestStringConvertible, Sendable {
        let name: String
        var minUploadBytesPerSecond = 0
        let steps: [(Step, String)]
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(
            name: "a new connection that sends nothing is closed at the first-request limit",
            steps: [(.fire(at: 500), "schedule 1000"), (.fire(at: 1000), "close")]),
        Row(
            name: "a head's limit runs from its first byte, not reset by more bytes",
            steps: [
                (.fire(at: 300), "schedule 1000"), (.bytes(10), ""), (.fire(at: 800), "schedule 1300"),
                (.bytes(10), ""), (.fire(at: 1300), "headTooSlow, next 2300"),
            ]),
        Row(
            name: "a client waiting on its answer is never timed out",
            steps: [
                (.bytes(40), ""), (.enter(.awaitingResponse), ""), (.fire(at: 5000), "schedule 6000"),
                (.fire(at: 60000), "schedule 61000"),
            ]),
        Row(
            name: "between requests the keep-alive idle limit applies, counted from the answer",
            steps: [
                (.bytes(40), ""), (.enter(.awaitingResponse), ""), (.enter(.idle), ""),
                (.fire(at: 1000), "schedule 2000"), (.fire(at: 2000), "close"),
            ]),
        Row(
            name: "the next request's head has its own limit",
            steps: [
                (.bytes(40), ""), (.enter(.awaitingResponse), ""), (.enter(.idle), ""), (.bytes(5), ""),
                (.fire(at: 999), "schedule 1000"), (.fire(at: 1000), "headTooSlow, next 2000"),
            ]),
        Row(
            name: "a body that pauses longer than the limit stalls; one that keeps coming does not",
            steps: [
                (.enter(.readingBody), ""), (.bytes(100), ""), (.fire(at: 800), "schedule 1000"),
                (.bytes(100), ""), (.fire(at: 1000), "schedule 1800"), (.fire(at: 1800), "bodyStalled, next 2800"),
            ]),
        Row(
            name: "while reads are held for the upstream, the body's clock stands still",
            steps: [
                (.enter(.readingBody), ""), (.bytes(100, held: true), ""), (.fire(at: 1000), "schedule 2000"),
                (.fire(at: 5000), "schedule 6000"), (.readAsked, ""), (.fire(at: 5500), "schedule 6000"),
                (.fire(at: 6000), "bodyStalled, next 7000"),
            ]),
        Row(
            name: "a body must bring the minimum rate in each window, a byte a time is not enough",
            minUploadBytesPerSecond: 100,
            steps: [
                (.enter(.readingBody), ""), (.bytes(60), ""), (.fire(at: 500), "schedule 1000"), (.bytes(60), ""),
                (.fire(at: 1000), "schedule 2000"), (.bytes(1), ""), (.fire(at: 1500), "schedule 2000"),
                (.bytes(1), ""), (.fire(at: 2000), "bodyStalled, next 3000"),
            ]),
    ]

    static func timeouts() -> TimeoutsConfig {
        var timeouts = TimeoutsConfig.defaults
        timeouts.clientHeaderSeconds = 1
        timeouts.clientIdleSeconds = 2
        timeouts.clientBodyIdleSeconds = 1
        timeouts.clientFirstRequestSeconds = 1
        return timeouts
    }

    @Test(arguments: rows) func row(_ row: Row) {
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var now = start
        func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }
        func milliseconds(_ time: NIODeadline) -> Int64 { (time - start).nanoseconds / 1_000_000 }
        var cycle = ConnectionCycle.Position(phase: .idle, since: start, rounds: 0)
        var clock = ClientClock(timeouts: Self.timeouts(), minUploadBytesPerSecond: row.minUploadBytesPerSecond)
        #expect(clock.started(now: now) == .schedule(at(1000)))
        for (index, (step, expected)) in row.steps.enumerated() {
            var said = ""
            switch step {
            case .enter(let phase):
                cycle = ConnectionCycle.Position(
                    phase: phase, since: now, rounds: cycle.rounds + (phase == .idle ? 1 : 0))
            case .bytes(let count, let held):
                clock.bytesRead(count, cycle: cycle, now: now)
                clock.readCompleted(cycle: cycle, now: now)
                if !held { clock.readRequested(now: now) }
            case .readAsked:
                clock.readRequested(now: now)
            case .fire(let time):
                now = at(time)
                switch clock.fired(cycle: cycle, now: now) {
                case .schedule(let next): said = "schedule \(milliseconds(next))"
                case .timedOut(let timeout, let next): said = "\(timeout), next \(milliseconds(next))"
                case .close: said = "close"
                }
            }
            #expect(said == expected, "step \(index): \(step)")
        }
    }

    /// Random sequences (seeded) against what the limits promise, worked out from the events alone: the timer
    /// always fires again within the shortest limit; a client never times out while it waits on us; a head, an idle
    /// connection or a body is cut only once its limit has really passed (time the client waited on our reads
    /// not counted).
    @Test(arguments: 1...40) func randomSequencesKeepTheLimitsPromises(seed: UInt64) {
        var random = SplitMix(seed: seed)
        func pick(_ count: Int) -> Int { Int.random(in: 0..<count, using: &random) }
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var now = start
        var cycle = ConnectionCycle.Position(phase: .idle, since: start, rounds: 0)
        var clock = ClientClock(timeouts: Self.timeouts())
        var headStarted: NIODeadline?
        var lastBody = start
        var heldSince: NIODeadline?
        var heldTotal = TimeAmount.zero
        var closed = false
        for step in 0..<400 where !closed {
            let context = "seed \(seed) step \(step)"
            switch pick(6) {
            case 0:
                let phase = [ConnectionPhase.idle, .readingBody, .awaitingResponse][pick(3)]
                cycle = ConnectionCycle.Position(
                    phase: phase, since: now, rounds: cycle.rounds + (phase == .idle ? 1 : 0))
                if phase == .idle { headStarted = nil }
                lastBody = now
                heldTotal = .zero
                heldSince = nil
            // Bytes come only while reads are asked for.
            case 1 where heldSince == nil, 2 where heldSince == nil:
                clock.bytesRead(1 + pick(100), cycle: cycle, now: now)
                if cycle.phase == .idle, headStarted == nil { headStarted = now }
                if cycle.phase == .readingBody {
                    lastBody = now
                    heldTotal = .zero
                }
                clock.readCompleted(cycle: cycle, now: now)
                if cycle.phase == .readingBody, pick(3) == 0 {
                    heldSince = now
                } else {
                    clock.readRequested(now: now)
                }
            case 3 where heldSince != nil:
                clock.readRequested(now: now)
                heldTotal = heldTotal + (now - heldSince!)
                heldSince = nil
            default:
                now = now + .milliseconds(Int64(1 + pick(1500)))
                let action = clock.fired(cycle: cycle, now: now)
                switch action {
                case .schedule(let next), .timedOut(_, let next):
                    #expect(next > now && next <= now + .seconds(1), "\(context): \(action)")
                case .close:
                    closed = true
                }
                switch action {
                case .schedule: break
                case .timedOut(.headTooSlow, _):
                    #expect(cycle.phase == .idle, "\(context)")
                    #expect(headStarted.map { now - $0 >= .seconds(1) } ?? false, "\(context)")
                case .close:
                    #expect(cycle.phase == .idle && headStarted == nil, "\(context)")
                    #expect(now - cycle.since >= .seconds(1), "\(context)")
                case .timedOut(.bodyStalled, _):
                    #expect(cycle.phase == .readingBody && heldSince == nil, "\(context)")
                    #expect(now - lastBody - heldTotal >= .seconds(1), "\(context)")
                }
            }
        }
    }
}
