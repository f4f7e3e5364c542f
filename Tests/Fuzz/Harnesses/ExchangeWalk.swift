import CurlClient
import Foundation
import NIOCore
import NIOHTTP1

@testable import CovataProxy

/// `ExchangeMachine` driven as its handler drives it, from a seed (`ExchangeMachineTests`) or the fuzzer's bytes:
/// client reads, checks, tokens, curl's events and the client going away in any order the handler allows, checked
/// after every action. Connections follow each other, each from a fresh machine, until the steps or bytes run out.
public struct ExchangeWalk {
    typealias Machine = ExchangeMachine

    /// One event, as the handler would feed it. Upstream events name the transfer by its attempt; `nil` means the
    /// current one.
    enum Event {
        case read, readComplete
        case get, post, body, end
        case checked(ProxyError?)
        /// Checked, with a token at hand (the usual case).
        case checkedWithToken
        /// Checked, with a token at hand, for a request that does not let the connection go on.
        case checkedClosing
        case token, tokenFailed
        case uploadFilled, uploadDrained
        case head(status: Int, attempt: Int? = nil)
        /// A head whose body has no length for the client (it ends with the connection).
        case headUntilClose
        case upstreamBody(attempt: Int? = nil, bytes: Int = 4)
        case whole
        case wholeUnauthorized
        case ended(Machine.UpstreamEnd)
        case retired(replaced: Bool)
        case firstByteLate, bodyStalled, headTooSlow
        case refusal(HTTPResponseStatus)
        case inputEnded, connectionClosed, quiesce
        case written
        case drain
    }

    /// Feeds events, remembering what the handler would: the exchange id and body flag of the last check, the last
    /// transfer's ticket.
    struct Driver {
        var machine: Machine

        init(answersHalfClosedClients: Bool = true) {
            machine = Machine(maxBodyBytes: 10, answersHalfClosedClients: answersHalfClosedClients)
        }
        var exchange = 0
        var hasBody = false
        var ticket = Machine.Ticket(exchange: 0, attempt: 0)
        /// The ticket the handler's first-byte timer was last armed with (what it reports when it runs out).
        var armed: Machine.Ticket?

        mutating func apply(_ event: Event) -> String {
            switch event {
            case .read: return note(machine.read())
            case .readComplete: return note(machine.readComplete())
            case .get:
                let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/a")
                return note(machine.requestPart(.head(ClientRequestHead(head))))
            case .post:
                let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/b")
                return note(machine.requestPart(.head(ClientRequestHead(head))))
            case .body: return note(machine.requestPart(.body(ByteBuffer(string: "four"))))
            case .end: return note(machine.requestPart(.end))
            case .checked(let refusal):
                return note(machine.checked(refusal: refusal, hasBody: hasBody, tokenAtHand: false, keepAlive: true))
            case .checkedWithToken:
                return note(machine.checked(refusal: nil, hasBody: hasBody, tokenAtHand: true, keepAlive: true))
            case .checkedClosing:
                return note(machine.checked(refusal: nil, hasBody: hasBody, tokenAtHand: true, keepAlive: false))
            case .token: return note(machine.tokenArrived(failure: nil, exchange: exchange))
            case .tokenFailed:
                let failure = TokenError.unavailable(reason: "down", retryAfterSeconds: 1)
                return note(machine.tokenArrived(failure: failure, exchange: exchange))
            case .uploadFilled: return note(machine.uploadFilled())
            case .uploadDrained: return note(machine.uploadDrained(ticket))
            case .head(let status, let attempt):
                return note(machine.upstreamHead(at(attempt), status: status, bodyEndsWithConnection: false))
            case .headUntilClose:
                return note(machine.upstreamHead(ticket, status: 200, bodyEndsWithConnection: true))
            case .upstreamBody(let attempt, let bytes): return note(machine.upstreamBody(at(attempt), bytes: bytes))
            case .whole: return note(machine.upstreamWhole(ticket, status: 200, bodyEndsWithConnection: false))
            case .wholeUnauthorized:
                return note(machine.upstreamWhole(ticket, status: 401, bodyEndsWithConnection: false))
            case .ended(let end): return note(machine.upstreamEnded(ticket, end))
            case .retired(let replaced): return note(machine.tokenRetired(exchange: exchange, replaced: replaced))
            case .firstByteLate: return note(machine.firstByteTimedOut(armed ?? ticket))
            case .bodyStalled: return note(machine.bodyStalled())
            case .headTooSlow: return note(machine.headTimedOut())
            case .refusal(let status): return note(machine.protocolRefusal(status))
            case .inputEnded: return note(machine.inputEnded())
            case .connectionClosed: return note(machine.connectionClosed())
            case .quiesce: return note(machine.quiesce())
            case .written: return note(machine.answerWritten())
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
            case .check(let request, let id):
                exchange = id
                hasBody = request.head.method == .POST
                return "check"
            case .findToken: return "findToken"
            case .startTransfer(let ticket, let requestEnded):
                self.ticket = ticket
                if requestEnded { armed = ticket }
                return "start(attempt \(ticket.attempt), ended \(requestEnded))"
            case .acceptBody(_, let send): return "accept(send \(send))"
            case .finishSending(let arm?):
                armed = arm
                return "finishSending(arm)"
            case .finishSending(nil): return "finishSending"
            case .answer(let error, let closes):
                return "answer(\(error.response.status.code), ends \(closes))"
            case .writeEnd: return "writeEnd"
            case .relayHeld(let retire, let closes): return "relayHeld(retire \(retire)\(closes ? " closes" : ""))"
            case .relayHead(let closes): return closes ? "relayHead(closes)" : "relayHead"
            case .holdHead: return "holdHead"
            case .relayBody: return "relayBody"
            case .holdBody: return "holdBody"
            case .dropBody: return "dropBody"
            case .writeWhole(let closes): return closes ? "writeWhole(closes)" : "writeWhole"
            case .report(let report, let then):
                let name =
                    switch report {
                    case .upstreamTimedOut: "upstreamTimedOut"
                    case .upstreamFailed: "upstreamFailed"
                    case .replaying: "replaying"
                    }
                return "report(\(name)), " + note(then)
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

    /// The handler's side, modelled: what it must feed back at once (checks, transfer starts, answers written), and
    /// what arrives later in any order (tokens, retired tokens, curl's events, the queue's drain, the client).
    struct Executor {
        var driver: Driver
        var random: Choices
        /// Deferred events that will come: a token fetch, a retirement, a drain.
        var later: [Event] = []
        /// What the handler feeds back at once, in order (kept iterative: debug frames are large).
        var now: [Event] = []
        var inRead = false
        var closed = false
        var transferRunning = false
        var answered = Set<Int>()
        var lastAnswered = 0
        /// The requests the client sent while the connection was open, in order, and whether each was sent whole.
        var requests: [Bool] = []
        /// curl's upload queue, as the handler last heard of it: full from `uploadFilled` until it drains or the
        /// transfer is replaced.
        var uploadFull = false
        var log: [String] = []

        /// A fresh connection, in either mode for a client's FIN.
        init(random: Choices) {
            self.random = random
            driver = Driver(answersHalfClosedClients: self.random.next(2) == 0)
        }

        /// Performs an action as the handler does, checking the invariants on the way.
        mutating func perform(_ action: String, after event: Event) throws(OracleFailure) {
            log.append("\(event) -> \(action)")
            if log.count > 16 { log.removeFirst() }
            for part in action.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                try performOne(part)
            }
            // However it closed (the client went away too), the connection is over.
            if case .closed = driver.machine.state { closed = true }
        }

        mutating func performOne(_ action: String) throws(OracleFailure) {
            let machine = driver.machine
            if case .closed = machine.state {
            } else {
                try require(!closed, "the connection came back after it was closed: \(log.suffix(8))")
            }
            if action == "read" {
                try require(!uploadFull, "a read while curl's upload queue is full: \(log.suffix(8))")
            }
            if action.hasPrefix("start(") {
                try require(!transferRunning, "two transfers at once: \(log.suffix(8))")
                try require(!action.hasPrefix("start(attempt 3"), "a request sent a third time")
                // The hardening point: a request with a body never starts inside the read that brought its head.
                if driver.hasBody, action.hasPrefix("start(attempt 1") {
                    try require(!inRead, "a transfer with a body started inside a read: \(log.suffix(8))")
                }
                transferRunning = true
                uploadFull = false
                now.append(.uploadDrained)
            }
            if action.hasPrefix("answer(") || action.hasPrefix("relayHeld") || action == "writeEnd"
                || action.hasPrefix("writeWhole")
            {
                try require(!answered.contains(driver.exchange), "exchange \(driver.exchange) answered twice")
                // In the client's order, none skipped: the n-th request's answer is the n-th answer.
                try require(driver.exchange == lastAnswered + 1, "answers out of order: \(log.suffix(8))")
                answered.insert(driver.exchange)
                lastAnswered = driver.exchange
                transferRunning = false
                uploadFull = false
                now.append(.written)
            }
            if ["cutShort", "abandon", "retireToken"].contains(action) || action.hasPrefix("refuse(") {
                transferRunning = false
                uploadFull = false
            }
            if ["cutShort", "closeWhenWritten"].contains(action) || action.hasPrefix("refuse(")
                || action.hasPrefix("answerAlone")
            {
                if case .closed = driver.machine.state {} else { throw OracleFailure("\(action) but not closed") }
                closed = true
            }
            if action == "check" {
                switch random.next(6) {
                case 0: now.append(.checked(.badRequest("x")))
                case 1, 2: now.append(.checked(nil))
                case 3: now.append(.checkedClosing)
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

        mutating func step(_ event: Event) throws(OracleFailure) {
            switch event {
            case .uploadFilled where transferRunning: uploadFull = true
            case .uploadDrained: uploadFull = false
            case .get where !closed, .post where !closed: requests.append(false)
            case .end where !closed && !requests.isEmpty: requests[requests.count - 1] = true
            default: break
            }
            if case .drain = event {
                // As the handler drains: each queued action performed before the next is taken.
                while let action = driver.machine.nextQueued() {
                    try perform(driver.note(action), after: event)
                    try settle()
                }
                try perform(driver.note(driver.machine.queueDrained()), after: event)
            } else {
                try perform(driver.apply(event), after: event)
            }
            try settle()
        }

        /// Liveness: once everything pending has come (tokens, retirements, drains, the running transfer's answer),
        /// every request sent whole, behind requests sent whole, has been answered, unless the connection closed.
        mutating func finish() throws(OracleFailure) {
            guard !closed else { return }
            try step(.readComplete)
            for _ in 0..<64 where !closed {
                if !later.isEmpty {
                    try step(later.removeFirst())
                    continue
                }
                guard transferRunning else { break }
                try step(.head(status: 200))
                try step(.ended(.complete))
            }
            guard !closed else { return }
            let answerable = requests.prefix { $0 }.count
            try require(
                answered.count == answerable,
                "\(answerable - answered.count) requests sent whole never answered: \(log.suffix(8))")
        }

        /// Feeds back what the last actions asked for at once.
        mutating func settle() throws(OracleFailure) {
            while !now.isEmpty {
                let event = now.removeFirst()
                try perform(driver.apply(event), after: event)
            }
        }

        /// One thing that happens next: a client read (a few parts), something deferred, or a curl event.
        mutating func next() throws(OracleFailure) {
            switch random.next(10) {
            case 0, 1, 2:
                inRead = true
                let parts: [Event] = random.next(2) == 0 ? [.get, .end] : [.post, .body, .body, .end]
                for part in parts.prefix(random.next(4) + 1) { try step(part) }
                if random.next(12) == 0 { try step(.refusal(.badRequest)) }
                inRead = false
                try step(.readComplete)
            case 3, 4:
                if !later.isEmpty { try step(later.remove(at: random.next(later.count))) }
            case 5:
                try step(
                    [.head(status: 200), .head(status: 401), .whole, .wholeUnauthorized, .headUntilClose][
                        random.next(5)])
            case 6:
                try step(random.next(2) == 0 ? .upstreamBody() : .head(status: 200, attempt: 1))
            case 7:
                let ends: [Machine.UpstreamEnd] = [
                    .complete, .rejectedToken(bodyKept: true), .rejectedToken(bodyKept: false),
                    .failed(CurlError(kind: .connectionBroken, code: 56, message: "reset")),
                ]
                try step(.ended(ends[random.next(4)]))
            case 8:
                try step([.read, .uploadFilled, .uploadDrained, .firstByteLate][random.next(4)])
            default:
                try step([.bodyStalled, .headTooSlow, .inputEnded, .connectionClosed, .read, .quiesce][random.next(6)])
            }
        }
    }

    var executor: Executor
    public private(set) var answers = 0
    public private(set) var connections = 1

    public init(choices: Choices) { executor = Executor(random: choices) }

    public mutating func walk(steps: Int) throws(OracleFailure) {
        for _ in 0..<steps where !executor.random.exhausted {
            try executor.next()
            if executor.closed {
                // A connection ends; the next one starts from a fresh machine, as the handler's would.
                answers += executor.answered.count
                connections += 1
                executor = Executor(random: executor.random)
            }
        }
        try executor.finish()
        answers += executor.answered.count
    }

    static func fuzz(_ bytes: [UInt8]) throws(OracleFailure) {
        var walk = ExchangeWalk(choices: Choices(bytes))
        try walk.walk(steps: 20_000)
    }
}
