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
