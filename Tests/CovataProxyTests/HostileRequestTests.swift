import Foundation
import Testing

@testable import CovataProxy

/// Requests a careful intermediary must refuse, as raw bytes: the right status, and nothing reaches Covata.
@Suite struct HostileRequestTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let request: String
        let status: Int
        var testDescription: String { name }
    }

    static let longTarget = "/api/v1/" + String(repeating: "a", count: 70_000)
    static let manyHeaders = (0..<150).map { "X-H\($0): 1\r\n" }.joined()

    static let cases: [Case] = [
        Case(name: "missing Host", request: "GET /api/v1/x HTTP/1.1\r\n\r\n", status: 400),
        Case(name: "duplicate Host", request: "GET /api/v1/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", status: 400),
        Case(name: "Host with a path", request: "GET /api/v1/x HTTP/1.1\r\nHost: a/b\r\n\r\n", status: 400),
        Case(name: "TRACE", request: "TRACE /api/v1/x HTTP/1.1\r\nHost: a\r\n\r\n", status: 405),
        Case(name: "HTTP/2.0 request line", request: "GET /api/v1/x HTTP/2.0\r\nHost: a\r\n\r\n", status: 505),
        Case(
            name: "Content-Length with Transfer-Encoding",
            request:
                "POST /api/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            status: 400),
        Case(
            name: "conflicting Content-Length",
            request: "POST /api/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            status: 400),
        Case(
            name: "space before colon",
            request: "POST /api/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
            status: 400),
        Case(
            name: "unknown transfer coding",
            request: "POST /api/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            status: 501),
        Case(
            name: "folded header", request: "GET /api/v1/x HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  continued\r\n\r\n",
            status: 400),
        Case(
            name: "bad chunk size",
            request: "POST /api/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", status: 400),
        Case(name: "request line too long", request: "GET \(longTarget) HTTP/1.1\r\nHost: a\r\n\r\n", status: 431),
        Case(name: "too many headers", request: "GET /api/v1/x HTTP/1.1\r\nHost: a\r\n\(manyHeaders)\r\n", status: 431),
        Case(name: "asterisk target", request: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
    ]

    @Test(arguments: cases)
    func refusedBeforeReachingCovata(_ item: Case) async throws {
        try await ProxyHarness.with { harness in
            let raw = try await RawHTTPClient.exchange(port: harness.port(), item.request)
            let statusLine = String(decoding: raw.prefix(40), as: UTF8.self)
            #expect(statusLine.hasPrefix("HTTP/1.1 \(item.status)"), "got \(statusLine)")
            #expect(harness.mock.state.apiRequests == 0)
        }
    }

    @Test func http10WithoutHostIsStillServed() async throws {
        try await ProxyHarness.with { harness in
            let response = try ParsedResponse(
                try await RawHTTPClient.exchange(port: harness.port(), "GET /api/v1/old HTTP/1.0\r\n\r\n"))
            #expect(response.status == 200)
        }
    }
}
