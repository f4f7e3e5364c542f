import CurlClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import CovataProxy
@testable import FuzzHarnesses

/// `ExchangeMachine` without a channel: a table of event sequences and the actions they must produce, and seeded
/// random sequences checked against the machine's invariants after every step.
@Suite struct ExchangeMachineTests {
    typealias Machine = ExchangeMachine
    typealias Event = ExchangeWalk.Event
    typealias Driver = ExchangeWalk.Driver

    struct Row: CustomTestStringConvertible, Sendable {
        let name: String
        let steps: [(Event, String)]
        /// `limits.answerHalfClosedClients` (the rows below about a FIN say which they need).
        var answersHalfClosed = true
        var testDescription: String { name }
        init(_ name: String, answersHalfClosed: Bool = true, _ steps: [(Event, String)]) {
            self.name = name
            self.answersHalfClosed = answersHalfClosed
            self.steps = steps
        }
    }

    static let getStarted: [(Event, String)] = [
        (.get, "check"), (.checkedWithToken, "start(attempt 1, ended false)"), (.uploadDrained, "none"),
        (.end, "finishSending(arm)"), (.readComplete, "none"),
    ]

    static let rows: [Row] = [
        Row(
            "a GET with a token at hand starts at once; its whole answer ends it",
            getStarted + [
                (.whole, "writeWhole"), (.written, "none"),
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
                (.written, "closeWhenWritten"),
                (.body, "none"),
            ]),
        Row(
            "a refused request is answered from the catalog",
            [
                (.get, "check"), (.checked(.payloadTooLarge), "answer(413, ends true)"),
                (.written, "closeWhenWritten"), (.end, "none"),
            ]),
        Row(
            "no token: 503, and the read that waited resumes",
            [
                (.get, "check"), (.checked(nil), "findToken"), (.read, "none"), (.end, "none"),
                (.tokenFailed, "answer(503, ends false)"), (.written, "read"),
            ]),
        Row(
            "a pipelined request waits for the answer before it, then starts",
            getStarted + [
                (.get, "none"), (.end, "none"), (.read, "none"), (.whole, "writeWhole"),
                (.written, "drainQueue"), (.drain, "check, none, none"),
            ]),
        Row(
            "a refusal behind a pipelined request waits its turn",
            getStarted + [
                (.refusal(.badRequest), "none"), (.whole, "writeWhole"), (.written, "drainQueue"),
                (.drain, "refuse(400, ends false), none"), (.get, "none"),
            ]),
        Row(
            "a refusal while the answer streams can only cut it short",
            [
                (.post, "check"), (.checked(nil), "findToken"), (.readComplete, "none"),
                (.token, "start(attempt 1, ended false)"), (.head(status: 200), "relayHead"),
                (.refusal(.badRequest), "cutShort"), (.upstreamBody(), "dropBody"),
            ]),
        Row(
            "a revoked token: the 401 is held, the token retired, the request replayed once",
            getStarted + [
                (.head(status: 401), "holdHead"), (.upstreamBody(), "holdBody"),
                (.ended(.rejectedToken(bodyKept: true)), "retireToken"),
                (.retired(replaced: true), "report(replaying), findToken"),
                (.token, "start(attempt 2, ended true)"), (.head(status: 200, attempt: 1), "none"),
                (.head(status: 401), "holdHead"), (.ended(.rejectedToken(bodyKept: true)), "relayHeld(retire true)"),
            ]),
        Row(
            "a token renewed moments ago is kept and the 401 relayed",
            getStarted + [
                (.head(status: 401), "holdHead"), (.ended(.rejectedToken(bodyKept: true)), "retireToken"),
                (.retired(replaced: false), "relayHeld(retire false)"), (.written, "none"),
            ]),
        Row(
            "a body not kept whole cannot be replayed",
            [
                (.post, "check"), (.checked(nil), "findToken"), (.readComplete, "none"),
                (.token, "start(attempt 1, ended false)"), (.end, "finishSending(arm)"),
                (.head(status: 401), "holdHead"), (.ended(.rejectedToken(bodyKept: false)), "relayHeld(retire true)"),
            ]),
        Row(
            "a 401 that is not invalid_token is relayed as it is",
            getStarted + [
                (.head(status: 401), "holdHead"), (.ended(.complete), "relayHeld(retire false)"),
            ]),
        Row(
            "curl fails before the head: 502; after it: the answer is cut short",
            getStarted + [
                (
                    .ended(.failed(CurlError(kind: .couldNotConnect, code: 7, message: "refused"))),
                    "report(upstreamFailed), answer(502, ends false)"
                ),
                (.written, "none"), (.get, "check"), (.checked(nil), "findToken"),
                (.token, "start(attempt 1, ended false)"), (.head(status: 200), "relayHead"),
                (
                    .ended(.failed(CurlError(kind: .connectionBroken, code: 56, message: "reset"))),
                    "report(upstreamFailed), cutShort"
                ),
                (.get, "none"),
            ]),
        Row(
            "the first-byte limit answers 504 only while no head has come; a timer armed for an earlier one is ignored",
            getStarted + [
                (.firstByteLate, "report(upstreamTimedOut), answer(504, ends false)"), (.head(status: 200), "none"),
                (.written, "none"), (.get, "check"), (.checked(nil), "findToken"),
                (.token, "start(attempt 1, ended false)"), (.head(status: 200), "relayHead"),
                (.firstByteLate, "none"), (.ended(.complete), "writeEnd"),
            ]),
        Row(
            "the first-byte timer is armed only while no head has come, and a replay's attempt has its own",
            [
                (.post, "check"), (.checked(nil), "findToken"), (.readComplete, "none"),
                (.token, "start(attempt 1, ended false)"), (.head(status: 200), "relayHead"),
                (.end, "finishSending"), (.ended(.complete), "writeEnd"), (.written, "none"),
                (.get, "check"), (.checkedWithToken, "start(attempt 1, ended false)"), (.end, "finishSending(arm)"),
                (.head(status: 401), "holdHead"), (.ended(.rejectedToken(bodyKept: true)), "retireToken"),
                (.retired(replaced: true), "report(replaying), findToken"), (.token, "start(attempt 2, ended true)"),
                // The replay's start armed the timer anew: its own limit runs out, and nothing of the first stays.
                (.firstByteLate, "report(upstreamTimedOut), answer(504, ends false)"),
                (.head(status: 200, attempt: 2), "none"),
            ]),
        Row(
            "a half-close waits for the answer in progress, then closes",
            getStarted + [
                (.inputEnded, "none"), (.whole, "writeWhole"), (.written, "drainQueue"),
                (.drain, "closeWhenWritten, none"),
            ]),
        Row(
            "a request that does not keep the connection: its answer says so, then the connection closes",
            [
                (.get, "check"), (.checkedClosing, "start(attempt 1, ended false)"), (.uploadDrained, "none"),
                (.end, "finishSending(arm)"), (.whole, "writeWhole(closes)"), (.written, "closeWhenWritten"),
            ]),
        Row(
            "an answer whose body ends with the connection closes it",
            getStarted + [
                (.headUntilClose, "relayHead(closes)"), (.upstreamBody(), "relayBody"),
                (.ended(.complete), "writeEnd"), (.written, "closeWhenWritten"),
            ]),
        Row(
            "a 401 that arrives whole is held all the same",
            getStarted + [
                (.wholeUnauthorized, "none"), (.head(status: 401), "holdHead"), (.upstreamBody(), "holdBody"),
                (.ended(.complete), "relayHeld(retire false)"), (.written, "none"),
            ]),
        Row(
            "a held 401 stops growing at its limit",
            getStarted + [
                (.head(status: 401), "holdHead"), (.upstreamBody(bytes: 64 * 1024), "holdBody"),
                (.upstreamBody(), "dropBody"), (.ended(.complete), "relayHeld(retire false)"),
            ]),
        Row(
            "stopping: the answer in progress tells the client the connection ends; nothing queued starts",
            getStarted + [
                (.get, "none"), (.quiesce, "none"), (.whole, "writeWhole(closes)"), (.written, "closeWhenWritten"),
                (.drain, "none"),
            ]),
        Row("stopping closes an idle connection", [(.quiesce, "closeWhenWritten"), (.get, "none")]),
        Row(
            "by default a client's FIN means it has gone: the request in progress is abandoned at once",
            answersHalfClosed: false,
            getStarted + [(.inputEnded, "cutShort"), (.whole, "none"), (.get, "none")]),
        Row(
            "by default a FIN behind pipelined requests ends them all",
            answersHalfClosed: false,
            getStarted + [(.get, "none"), (.end, "none"), (.inputEnded, "cutShort"), (.drain, "none")]),
        Row(
            "by default a FIN on an idle connection closes it", answersHalfClosed: false,
            [(.inputEnded, "closeWhenWritten")]),
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
                (.written, "closeWhenWritten"),
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
                (.connectionClosed, "abandon"), (.head(status: 200), "none"), (.ended(.complete), "none"),
                (.get, "none"),
            ]),
    ]

    @Test(arguments: rows)
    func transitions(_ row: Row) {
        var driver = Driver(answersHalfClosedClients: row.answersHalfClosed)
        for (index, (event, expected)) in row.steps.enumerated() {
            let got = driver.apply(event)
            #expect(got == expected, "step \(index + 1), \(event)")
        }
    }

    // MARK: - Random sequences against the invariants

    /// The walk (`ExchangeWalk`, shared with the fuzzer) from seeds.
    @Test(arguments: [1, 2, 3, 5, 8, 13, 21, 34] as [UInt64])
    func randomSequencesKeepTheInvariants(seed: UInt64) throws {
        var walk = ExchangeWalk(choices: Choices(seed: seed))
        try walk.walk(steps: 3000)
        // Not a degenerate walk: many connections, and many requests answered on them.
        #expect(walk.connections > 20)
        #expect(walk.answers > 100)
    }
}
