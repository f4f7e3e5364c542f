import Foundation
import Testing

/// RFC 9112 §9.3.2: a client may send requests without waiting for each answer; a server must answer them in order.
/// Each case writes its pieces with a pause between them, then expects one 200 per request, in request order.
@Suite struct PipeliningTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        /// Written one after another, 100 ms apart.
        let pieces: [String]
        /// The request targets, in the order their answers must come.
        let targets: [String]
        var testDescription: String { name }
    }

    static let host = "Host: localhost\r\n"

    static let cases: [Case] = [
        Case(
            name: "three GETs in one write",
            pieces: [
                "GET /api/v1/a HTTP/1.1\r\n\(host)\r\nGET /api/v1/b HTTP/1.1\r\n\(host)\r\nGET /api/v1/c HTTP/1.1\r\n\(host)\r\n"
            ],
            targets: ["/api/v1/a", "/api/v1/b", "/api/v1/c"]),
        Case(
            name: "fifty GETs in one write",
            pieces: [(1...50).map { "GET /api/v1/n\($0) HTTP/1.1\r\n\(host)\r\n" }.joined()],
            targets: (1...50).map { "/api/v1/n\($0)" }),
        Case(
            name: "a POST with a body, then a GET",
            pieces: [
                "POST /api/v1/p HTTP/1.1\r\n\(host)Content-Length: 5\r\n\r\nhelloGET /api/v1/g HTTP/1.1\r\n\(host)\r\n"
            ],
            targets: ["/api/v1/p", "/api/v1/g"]),
        Case(
            name: "the second head split across writes while the first is answered slowly",
            pieces: [
                "GET /api/v1/slow?delayMs=300 HTTP/1.1\r\n\(host)\r\nGET /api/v1/next HTTP/1.1\r\nHo",
                "st: localhost\r\n\r\n",
            ],
            targets: ["/api/v1/slow?delayMs=300", "/api/v1/next"]),
        Case(
            name: "a chunked POST, then a GET",
            pieces: [
                "POST /api/v1/c HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n"
                    + "GET /api/v1/g HTTP/1.1\r\n\(host)\r\n"
            ],
            targets: ["/api/v1/c", "/api/v1/g"]),
        // Only request lines are checked as request lines: a body is skipped by its length.
        Case(
            name: "a body that looks like a malformed request line",
            pieces: [
                "PUT /api/v1/b HTTP/1.1\r\n\(host)Content-Length: 18\r\n\r\nGET  /x HTTP/1.1\r\n"
                    + "GET /api/v1/after HTTP/1.1\r\n\(host)\r\n"
            ],
            targets: ["/api/v1/b", "/api/v1/after"]),
        // Field names in any case (RFC 9110 §5.1), among other fields: the guard still finds the body's end.
        Case(
            name: "a body framed by a lower-case content-length after other fields",
            pieces: [
                "PUT /api/v1/b HTTP/1.1\r\n\(host)Accept: */*\r\ncontent-length: 18\r\nX-Trace: 1\r\n\r\n"
                    + "GET  /x HTTP/1.1\r\nGET /api/v1/after HTTP/1.1\r\n\(host)\r\n"
            ],
            targets: ["/api/v1/b", "/api/v1/after"]),
        Case(
            name: "a lower-case chunked POST, then a GET",
            pieces: [
                "POST /api/v1/c HTTP/1.1\r\n\(host)transfer-encoding: chunked\r\n\r\n"
                    + "12\r\nGET  /x HTTP/1.1\r\n\r\n0\r\n\r\nGET /api/v1/g HTTP/1.1\r\n\(host)\r\n"
            ],
            targets: ["/api/v1/c", "/api/v1/g"]),
        Case(
            name: "the second body split across writes",
            pieces: [
                "GET /api/v1/first HTTP/1.1\r\n\(host)\r\nPUT /api/v1/second HTTP/1.1\r\n\(host)Content-Length: 10\r\n\r\nhalf ",
                "done.",
            ],
            targets: ["/api/v1/first", "/api/v1/second"]),
    ]

    @Test(arguments: cases)
    func answersComeInOrder(_ item: Case) async throws {
        try await ProxyHarness.with { harness in
            try await RawConnection.with(port: harness.port()) { connection in
                for (index, piece) in item.pieces.enumerated() {
                    if index > 0 { try await Task.sleep(for: .milliseconds(100)) }
                    try await connection.write(piece)
                }
                try await connection.read(untilSeen: "HTTP/1.1 ", count: item.targets.count)
                // Give a wrong extra answer (or a late refusal) the chance to show up.
                try await connection.read(untilSeen: "\"uri\"", count: item.targets.count)
                let text = connection.text
                #expect(!text.contains("HTTP/1.1 4"), "refused: \(text.prefix(200))")
                AnswersInOrder.expectOK(text, targets: item.targets)
            }
        }
    }

    /// RFC 9112 §9.6: after a request with `Connection: close` (or an HTTP/1.0 one without keep-alive) the server
    /// answers it, closes, and must not process what was pipelined behind it.
    @Test(arguments: [
        "GET /api/v1/first HTTP/1.1\r\n\(host)Connection: close\r\n\r\n",
        "GET /api/v1/first HTTP/1.0\r\n\r\n",
        // The closing request is itself pipelined behind one that keeps the connection.
        "GET /api/v1/zeroth HTTP/1.1\r\n\(host)\r\nGET /api/v1/first HTTP/1.1\r\n\(host)Connection: close\r\n\r\n",
    ])
    func nothingBehindACloseIsProcessed(_ first: String) async throws {
        try await ProxyHarness.with { harness in
            try await RawConnection.with(port: harness.port()) { connection in
                try await connection.write(first + "DELETE /api/v1/second HTTP/1.1\r\n\(Self.host)\r\n")
                try await connection.read { _ in false }
                #expect(connection.closedByPeer)
                let answered = first.components(separatedBy: "GET ").count - 1
                let statuses = connection.text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
                #expect(statuses == Array(repeating: "200", count: answered), "\(connection.text)")
                #expect(connection.text.contains("first") && !connection.text.contains("second"))
            }
            #expect(harness.mock.state.apiRequests == first.components(separatedBy: "GET ").count - 1)
        }
    }

    /// A request the parser refuses takes its turn: the requests pipelined before it are answered first, then the
    /// refusal, then the connection closes (RFC 9112 §9.3.2). Before the exchange machine the refusal was written at
    /// once and the request in progress was never answered.
    @Test(arguments: [
        ("Bad Header\r\n", "400"),
        ("X-Big: \(String(repeating: "a", count: 70_000))\r\n", "431"),
    ])
    func aRefusedRequestIsAnsweredAfterThoseBeforeIt(field: String, status: String) async throws {
        try await ProxyHarness.with { harness in
            try await RawConnection.with(port: harness.port()) { connection in
                try await connection.write(
                    "GET /api/v1/slow?delayMs=200 HTTP/1.1\r\n\(Self.host)\r\n"
                        + "GET /api/v1/second HTTP/1.1\r\n\(Self.host)\(field)\r\n")
                try await connection.read { _ in false }
                #expect(connection.closedByPeer)
                let statuses = connection.text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
                #expect(statuses == ["200", Substring(status)], "\(connection.text.prefix(300))")
            }
            #expect(harness.mock.state.apiRequests == 1)
        }
    }
}
