import CurlClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import CovataProxy

/// `ExchangeMachine` without a channel: a table of event sequences and the actions they must produce, and seeded
/// random sequences checked against the machine's invariants after every step.
@Suite struct ExchangeMachineTests {
    typealias Machine = ExchangeMachine

    /// One event, as the handler would feed it. Upstream events name the transfer by its attempt; `nil` means the
    /// current one.
    enum Event {
        case read, readComplete
        case get, post, body, end
        case checked(ProxyError?)
        /// Checked, with a token at hand (the usual case).
        case checkedWithToken
        case token, tokenFailed
        case uploadFilled, uploadDrained
        case head(status: Int, attempt: Int? = nil)
        case upstreamBody(attempt: Int? = nil)
        case whole
        case ended(Machine.UpstreamEnd)
        case retired(replaced: Bool)
        case firstByteLate, bodyStalled, headTooSlow
        case refusal(HTTPResponseStatus)
        case inputEnded, connectionClosed
        case written(closes: Bool)
        case drain
    }

    /// Feeds events, remembering what the handler would: the exchange id and body flag of the last check, the last
    /// transfer's ticket.
    struct Driver {
        var machine = Machine(maxBodyBytes: 10)
        var exchange = 0
        var hasBody = false
        var ticket = Machine.Ticket(exchange: 0, attempt: 0)

        mutating func apply(_ event: Event) -> String {
            switch event {
            case .read: return note(machine.read())
            case .readComplete: return note(machine.readComplete())
            case .get:
                return note(machine.requestPart(.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/a"))))
            case .post:
                return note(machine.requestPart(.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/b"))))
            case .body: return note(machine.requestPart(.body(ByteBuffer(string: "four"))))
            case .end: return note(machine.requestPart(.end(nil)))
            case .checked(let refusal):
                return note(machine.checked(refusal: refusal, hasBody: hasBody, tokenAtHand: false))
            case .checkedWithToken:
                return note(machine.checked(refusal: nil, hasBody: hasBody, tokenAtHand: true))
            case .token: return note(machine.tokenArrived(failure: nil, exchange: exchange))
            case .tokenFailed:
                let failure = TokenError.unavailable(reason: "down", retryAfterSeconds: 1)
                return note(machine.tokenArrived(failure: failure, exchange: exchange))
            case .uploadFilled:
                machine.uploadFilled()
                return "none"
            case .uploadDrained: return note(machine.uploadDrained(ticket))
            case .head(let status, let attempt):
                return "\(machine.upstreamHead(at(attempt), unauthorized: status == 401))"
            case .upstreamBody(let attempt): return "\(machine.upstreamBody(at(attempt)))"
            case .whole: return "\(machine.upstreamWhole(ticket))"
            case .ended(let end): return note(machine.upstreamEnded(ticket, end))
            case .retired(let replaced): return note(machine.tokenRetired(exchange: exchange, replaced: replaced))
            case .firstByteLate: return note(machine.firstByteTimedOut(exchange: exchange))
            case .bodyStalled: return note(machine.bodyStalled())
            case .headTooSlow: return note(machine.headTimedOut())
            case .refusal(let status): return note(machine.protocolRefusal(status))
            case .inputEnded: return note(machine.inputEnded())
            case .connectionClosed: return note(machine.connectionClosed())
            case .written(let closes): return note(machine.answerWritten(closes: closes))
            case .drain:
                var actions: [String] = []
                while let action = machine.nextQueued() { actions.append(note(action)) }
                actions.append(note(machine.queueDrained()))
                return actions.joined(separator: ", ")
            }
        }

        func at(_ attempt: Int?) -> Machine.Ticket {
            attempt.map { Machine.Ticket(exchange: ticket.exchange, attempt: $0) } ?? ticket
        }

        /// A short name for an action; the handler's side effects the driver needs (ids, tickets) are noted.
        mutating func note(_ action: Machine.Action) -> String {
            switch action {
            case .none: return "none"
            case .read: return "read"
            case .check(let head, let id):
                exchange = id
                hasBody = head.method == .POST
                return "check"
            case .findToken: return "findToken"
            case .startTransfer(let ticket, let requestEnded):
                self.ticket = ticket
                return "start(attempt \(ticket.attempt), ended \(requestEnded))"
            case .acceptBody(_, let send): return "accept(send \(send))"
            case .finishSending: return "finishSending"
            case .answer(let error, let endsConnection):
                return "answer(\(error.response.status.code), ends \(endsConnection))"
            case .writeEnd: return "writeEnd"
            case .relayHeld(let retire): return "relayHeld(retire \(retire))"
            case .retireToken: return "retireToken"
            case .refuse(let status, let endsExchange): return "refuse(\(status.code), ends \(endsExchange))"
            case .answerAlone(let error): return "answerAlone(\(error.response.status.code))"
            case .cutShort: return "cutShort"
            case .abandon: return "abandon"
            case .closeWhenWritten: return "closeWhenWritten"
            case .drainQueue: return "drainQueue"
            }
        }
    }

    struct Row: CustomTestStringConvertible, Sendable {
        let name: String
        let steps: [(Event, String)]
        var testDescription: String { name }
        init(_ name: String, _ steps: [(Event, String)]) {
            self.name = name
            self.steps = steps
        }
    }

    static let getStarted: [(Event, String)] = [
        (.get, "check"), (.checkedWithToken, "start(attempt 1, ended false)"), (.uploadDrained, "none"),
        (.end, "finishSending"), (.readComplete, "none"),
    ]

    static let rows: [Row] = [
        Row(
            "a GET with a token at hand starts at once; its whole answer ends it",
            getStarted + [
                (.whole, "true"), (.written(closes: false), "none"),
            ]),
        Row(
            "a body in the head's read waits for the read's end, then goes with the transfer",
            [
                (.post, "check"), (.checkedWithToken, "none"), (.body, "accept(send false)"), (.end, "none"),
                (.readComplete, "start(attempt 1, ended true)"),
            ]),
        Row(
            "a malformed body in the head's read never reaches the upstream",
            [
                (.post, "check"), (.checkedWithToken, "none"), (.body, "accept(send false)"),
                (.refusal(.badRequest), "refuse(400, ends true)"), (.readComplete, "none"), (.end, "none"),
            ]),
        Row(
            "a body over the limit: 413, and the connection ends",
            [
                (.post, "check"), (.checked(nil), "findToken"), (.readComplete, "none"),
                (.token, "start(attempt 1, ended false)"), (.body, "accept(send true)"),
                (.body, "accept(send true)"), (.body, "answer(413, ends true)"),
                (.written(closes: true), "closeWhenWritten"),
                (.body, "none"),
            ]),
        Row(
            "a refused request is answered from the catalog",
            [
                (.get, "check"), (.checked(.payloadTooLarge), "answer(413, ends true)"),
                (.written(closes: true), "closeWhenWritten"), (.end, "none"),
            ]),
        Row(
            "no token: 503, and the read that waited resumes",
            [
                (.get, "check"), (.checked(nil), "findToken"), (.read, "none"), (.end, "none"),
                (.tokenFailed, "answer(503, ends false)"), (.written(closes: false), "read"),
            ]),
        Row(
            "a pipelined request waits for the answer before it, then starts",
            getStarted + [
                (.get, "none"), (.end, "none"), (.read, "none"), (.whole, "true"),
                (.written(closes: false), "drainQueue"), (.drain, "check, none, none"),
            ]),
        Row(
            "a refusal behind a pipelined request waits its turn",
            getStarted + [
                (.refusal(.badRequest), "none"), (.whole, "true"), (.written(closes: false), "drainQueue"),
                (.drain, "refuse(400, ends false), none"), (.get, "none"),
            ]),
        Row(
            "a refusal while the answer streams can only cut it short",
            [
                (.post, "check"), (.checked(nil), "findToken"), (.readComplete, "none"),
                (.token, "start(attempt 1, ended false)"), (.head(status: 200), "relay"),
                (.refusal(.badRequest), "cutShort"), (.upstreamBody(), "drop"),
            ]),
        Row(
            "a revoked token: the 401 is held, the token retired, the request replayed once",
            getStarted + [
                (.head(status: 401), "hold"), (.upstreamBody(), "hold"),
                (.ended(.rejectedToken(bodyKept: true)), "retireToken"), (.retired(replaced: true), "findToken"),
                (.token, "start(attempt 2, ended true)"), (.head(status: 200, attempt: 1), "drop"),
                (.head(status: 401), "hold"), (.ended(.rejectedToken(bodyKept: true)), "relayHeld(retire true)"),
            ]),
        Row(
            "a token renewed moments ago is kept and the 401 relayed",
            getStarted + [
                (.head(status: 401), "hold"), (.ended(.rejectedToken(bodyKept: true)), "retireToken"),
                (.retired(replaced: false), "relayHeld(retire false)"), (.written(closes: false), "none"),
            ]),
        Row(
            "a body not kept whole cannot be replayed",
            [
                (.post, "check"), (.checked(nil), "findToken"), (.readComplete, "none"),
                (.token, "start(attempt 1, ended false)"), (.end, "finishSending"),
                (.head(status: 401), "hold"), (.ended(.rejectedToken(bodyKept: false)), "relayHeld(retire true)"),
            ]),
        Row(
            "a 401 that is not invalid_token is relayed as it is",
            getStarted + [
                (.head(status: 401), "hold"), (.ended(.complete), "relayHeld(retire false)"),
            ]),
        Row(
            "curl fails before the head: 502; after it: the answer is cut short",
            getStarted + [
                (
                    .ended(.failed(CurlError(kind: .couldNotConnect, code: 7, message: "refused"))),
                    "answer(502, ends false)"
                ),
                (.written(closes: false), "none"), (.get, "check"), (.checked(nil), "findToken"),
                (.token, "start(attempt 1, ended false)"), (.head(status: 200), "relay"),
                (.ended(.failed(CurlError(kind: .connectionBroken, code: 56, message: "reset"))), "cutShort"),
                (.get, "none"),
            ]),
        Row(
            "the first-byte limit answers 504 only while no head has come",
            getStarted + [
                (.firstByteLate, "answer(504, ends false)"), (.head(status: 200), "drop"),
                (.written(closes: false), "none"), (.get, "check"), (.checked(nil), "findToken"),
                (.token, "start(attempt 1, ended false)"), (.head(status: 200), "relay"),
                (.firstByteLate, "none"), (.ended(.complete), "writeEnd"),
            ]),
        Row(
            "a half-close waits for the answer in progress, then closes",
            getStarted + [
                (.inputEnded, "none"), (.whole, "true"), (.written(closes: false), "drainQueue"),
                (.drain, "closeWhenWritten, none"),
            ]),
        Row("a half-close on an idle connection closes it once written", [(.inputEnded, "closeWhenWritten")]),
        Row(
            "a slow head gets the 408 on an idle connection only",
            [
                (.headTooSlow, "answerAlone(408)"), (.get, "none"),
            ]),
        Row(
            "a stalled body gets the 408, and the connection ends",
            [
                (.post, "check"), (.checked(nil), "findToken"), (.readComplete, "none"),
                (.token, "start(attempt 1, ended false)"), (.bodyStalled, "answer(408, ends true)"),
                (.written(closes: true), "closeWhenWritten"),
            ]),
        Row(
            "reads wait while curl's upload queue is full",
            [
                (.post, "check"), (.checked(nil), "findToken"), (.readComplete, "none"),
                (.token, "start(attempt 1, ended false)"), (.uploadFilled, "none"), (.read, "none"),
                (.uploadDrained, "read"), (.read, "read"),
            ]),
        Row(
            "a client that goes away abandons its exchange; late events are dropped",
            getStarted + [
                (.connectionClosed, "abandon"), (.head(status: 200), "drop"), (.ended(.complete), "none"),
                (.get, "none"),
            ]),
    ]

    @Test(arguments: rows)
    func transitions(_ row: Row) {
        var driver = Driver()
        for (index, (event, expected)) in row.steps.enumerated() {
            let got = driver.apply(event)
            #expect(got == expected, "step \(index + 1), \(event)")
        }
    }

    // MARK: - Random sequences against the invariants

    /// The handler's side, modelled: what it must feed back at once (checks, transfer starts, answers written), and
    /// what arrives later in any order (tokens, retired tokens, curl's events, the queue's drain, the client).
    struct Executor {
        var driver = Driver()
        var random: SplitMix
        /// Deferred events that will come: a token fetch, a retirement, a drain.
        var later: [Event] = []
        /// What the handler feeds back at once, in order (kept iterative: debug frames are large).
        var now: [Event] = []
        var inRead = false
        var closed = false
        var transferRunning = false
        var answered = Set<Int>()
        var lastAnswered = 0
        var log: [String] = []

        init(seed: UInt64) { random = SplitMix(seed: seed) }

        /// Performs an action as the handler does, checking the invariants on the way.
        mutating func perform(_ action: String, after event: Event) {
            log.append("\(event) -> \(action)")
            for part in action.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                performOne(part)
            }
            // However it closed (the client went away too), the connection is over.
            if case .closed = driver.machine.state { closed = true }
        }

        mutating func performOne(_ action: String) {
            let machine = driver.machine
            if case .closed = machine.state {
            } else {
                #expect(!closed, "the connection came back after it was closed: \(log.suffix(8))")
            }
            if action == "read" { #expect(!machine.readsHeld, "a read while reads are held: \(log.suffix(8))") }
            if action.hasPrefix("start(") {
                #expect(!transferRunning, "two transfers at once: \(log.suffix(8))")
                #expect(!action.hasPrefix("start(attempt 3"), "a request sent a third time")
                // The hardening point: a request with a body never starts inside the read that brought its head.
                if driver.hasBody, action.hasPrefix("start(attempt 1") {
                    #expect(!inRead, "a transfer with a body started inside a read: \(log.suffix(8))")
                }
                transferRunning = true
                now.append(.uploadDrained)
            }
            if action.hasPrefix("answer(") || action.hasPrefix("relayHeld") || action == "writeEnd" || action == "true"
            {
                #expect(!answered.contains(driver.exchange), "exchange \(driver.exchange) answered twice")
                #expect(driver.exchange > lastAnswered, "answers out of order")
                answered.insert(driver.exchange)
                lastAnswered = driver.exchange
                transferRunning = false
                now.append(.written(closes: random.next(8) == 0))
            }
            if ["cutShort", "abandon", "retireToken"].contains(action) || action.hasPrefix("refuse(") {
                transferRunning = false
            }
            if ["cutShort", "closeWhenWritten"].contains(action) || action.hasPrefix("refuse(")
                || action.hasPrefix("answerAlone")
            {
                if case .closed = driver.machine.state {} else { Issue.record("\(action) but not closed") }
                closed = true
            }
            if action == "check" {
                switch random.next(6) {
                case 0: now.append(.checked(.badRequest("x")))
                case 1, 2: now.append(.checked(nil))
                default: now.append(.checkedWithToken)
                }
            }
            if action == "findToken" {
                if random.next(3) == 0 {
                    later.append(random.next(5) == 0 ? .tokenFailed : .token)
                } else {
                    now.append(.token)
                }
            }
            if action == "retireToken" { later.append(.retired(replaced: random.next(2) == 0)) }
            if action == "drainQueue" { later.append(.drain) }
        }

        mutating func step(_ event: Event) {
            if case .drain = event {
                // As the handler drains: each queued action performed before the next is taken.
                while let action = driver.machine.nextQueued() {
                    perform(driver.note(action), after: event)
                    settle()
                }
                perform(driver.note(driver.machine.queueDrained()), after: event)
            } else {
                perform(driver.apply(event), after: event)
            }
            settle()
        }

        /// Feeds back what the last actions asked for at once.
        mutating func settle() {
            while !now.isEmpty {
                let event = now.removeFirst()
                perform(driver.apply(event), after: event)
            }
        }

        /// One thing that happens next: a client read (a few parts), something deferred, or a curl event.
        mutating func next() {
            switch random.next(10) {
            case 0, 1, 2:
                inRead = true
                let parts: [Event] = random.next(2) == 0 ? [.get, .end] : [.post, .body, .body, .end]
                for part in parts.prefix(random.next(4) + 1) { step(part) }
                if random.next(12) == 0 { step(.refusal(.badRequest)) }
                inRead = false
                step(.readComplete)
            case 3, 4:
                if !later.isEmpty { step(later.remove(at: random.next(later.count))) }
            case 5:
                step([.head(status: 200), .head(status: 401), .whole][random.next(3)])
            case 6:
                step(random.next(2) == 0 ? .upstreamBody() : .head(status: 200, attempt: 1))
            case 7:
                let ends: [Machine.UpstreamEnd] = [
                    .complete, .rejectedToken(bodyKept: true), .rejectedToken(bodyKept: false),
                    .failed(CurlError(kind: .connectionBroken, code: 56, message: "reset")),
                ]
                step(.ended(ends[random.next(4)]))
            case 8:
                step([.read, .uploadFilled, .uploadDrained, .firstByteLate][random.next(4)])
            default:
                step([.bodyStalled, .headTooSlow, .inputEnded, .connectionClosed, .read][random.next(5)])
            }
        }
    }

    @Test(arguments: [1, 2, 3, 5, 8, 13, 21, 34] as [UInt64])
    func randomSequencesKeepTheInvariants(seed: UInt64) {
        var executor = Executor(seed: seed)
        var answers = 0
        var connections = 1
        for _ in 0..<3000 {
            executor.next()
            if executor.closed {
                // A connection ends; the next one starts from a fresh machine, as the handler's would.
                answers += executor.answered.count
                connections += 1
                executor = Executor(seed: executor.random.next())
            }
        }
        answers += executor.answered.count
        // Not a degenerate walk: many connections, and many requests answered on them.
        #expect(connections > 20)
        #expect(answers > 100)
    }
}
