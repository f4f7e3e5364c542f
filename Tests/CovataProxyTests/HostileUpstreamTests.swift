import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// Upstream answers a careful intermediary must not pass on as if they were fine (`http-hardening.md` §1.3): the
/// client gets a clean 502 or a closed connection, and the upstream connection is not used again.
@Suite struct HostileUpstreamTests {
    static let fine = ScriptedUpstream.Reply(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let method: String
        let reply: ScriptedUpstream.Reply
        /// 502, or 0 for "the client connection closes without a complete answer".
        let status: Int
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "Content-Length with Transfer-Encoding", method: "GET",
            reply: .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            status: 502),
        Case(
            name: "two different Content-Lengths", method: "GET",
            reply: .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nhello"), status: 502),
        Case(
            name: "unrequested 101", method: "GET",
            reply: .init(
                bytes: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
            status: 502),
        Case(
            name: "body cut short", method: "GET",
            reply: .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b", close: true), status: 0),
        Case(
            name: "bytes after a 204", method: "GET",
            reply: .init(bytes: "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"),
            status: 204),
        Case(
            name: "bytes after a HEAD answer", method: "HEAD",
            reply: .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"), status: 200),
        Case(
            name: "bytes after a 304", method: "GET",
            reply: .init(bytes: "HTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"),
            status: 304),
        Case(
            name: "header folded onto two lines", method: "GET",
            reply: .init(bytes: "HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 2\r\n\r\nok"), status: 502),
        // RFC 9110 §5.5: CR, LF or NUL inside a field value must be rejected (or replaced); a lone CR could split
        // the answer for a lenient client.
        Case(
            name: "CR inside a header value", method: "GET",
            reply: .init(bytes: "HTTP/1.1 200 OK\r\nX-A: 1\rSet-Cookie: x=1\r\nContent-Length: 2\r\n\r\nok"),
            status: 502),
        Case(
            name: "CR inside the reason phrase", method: "GET",
            reply: .init(bytes: "HTTP/1.1 299 Odd\rSet-Cookie: x=1\r\nContent-Length: 2\r\n\r\nok"), status: 502),
        Case(
            name: "NUL inside a header value", method: "GET",
            reply: .init(bytes: "HTTP/1.1 200 OK\r\nX-A: 1\u{0}2\r\nContent-Length: 2\r\n\r\nok"), status: 502),
    ]

    /// Unusual but valid heads, and what the client must see of them.
    struct Faithful: Sendable, CustomTestStringConvertible {
        let name: String
        let reply: String
        let statusLine: String
        var present: [(name: String, value: String)] = []
        var absent: [String] = []
        var testDescription: String { name }
    }

    static let faithful: [Faithful] = [
        Faithful(
            name: "reason phrase with spaces", reply: "HTTP/1.1 299 Odd But Fine\r\nContent-Length: 2\r\n\r\nok",
            statusLine: "HTTP/1.1 299 Odd But Fine"),
        Faithful(
            name: "a registered code with its own reason", reply: "HTTP/1.1 200 Fine\r\nContent-Length: 2\r\n\r\nok",
            statusLine: "HTTP/1.1 200 Fine"),
        // RFC 9112 §4: the space before an empty reason is still sent.
        Faithful(
            name: "no reason phrase", reply: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", statusLine: "HTTP/1.1 200 "),
        Faithful(
            name: "odd-case name, value padded with spaces and tabs",
            reply: "HTTP/1.1 200 OK\r\nx-ODD-case: \t padded  value \t\r\nContent-Length: 2\r\n\r\nok",
            statusLine: "HTTP/1.1 200 OK", present: [("X-Odd-Case", "padded  value")]),
        Faithful(
            name: "options named in Connection, in any case",
            reply: "HTTP/1.1 200 OK\r\nCONNECTION: Keep-Alive, x-HOP\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
                + "X-Kept: 2\r\nContent-Length: 2\r\n\r\nok",
            statusLine: "HTTP/1.1 200 OK", present: [("X-Kept", "2")], absent: ["X-Hop", "Keep-Alive"]),
        Faithful(
            name: "interim 100 then the final head",
            reply: "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\nHTTP/1.1 201 Created\r\nX-Final: 1\r\n"
                + "Content-Length: 2\r\n\r\nok",
            statusLine: "HTTP/1.1 201 Created", present: [("X-Final", "1")], absent: ["X-Interim"]),
    ]

    @Test(arguments: faithful)
    func unusualButValidHeadsArePassedOnFaithfully(_ item: Faithful) async throws {
        try await Self.withProxy(to: [ScriptedUpstream.Reply(bytes: item.reply)]) { harness, _ in
            let raw = try await RawHTTPClient.exchange(
                port: harness.port(), "GET /api/v1/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            let text = String(decoding: raw, as: UTF8.self)
            #expect(text.hasPrefix(item.statusLine + "\r\n"), "got \(text.prefix(80))")
            let response = try ParsedResponse(raw)
            for (name, value) in item.present { #expect(response.header(name) == value, "\(name)") }
            for name in item.absent { #expect(response.header(name) == nil, "\(name) was passed on") }
            #expect(String(decoding: response.body, as: UTF8.self) == "ok")
        }
    }

    /// RFC 9110 §5.5: obs-text (here a Latin-1 file name) is opaque to a proxy; the client gets the very bytes.
    @Test func headerBytesThatAreNotUTF8ReachTheClientUnchanged() async throws {
        let field = Array("Content-Disposition: attachment; filename=\"r".utf8) + [0xE9] + Array("sum".utf8) + [0xE9]
            + Array(".pdf\"".utf8)
        let reply = Array("HTTP/1.1 200 OK\r\n".utf8) + field + Array("\r\nContent-Length: 2\r\n\r\nok".utf8)
        try await Self.withProxy(to: [ScriptedUpstream.Reply(bytes: "", raw: reply)]) { harness, _ in
            let raw = try await RawHTTPClient.exchange(
                port: harness.port(), "GET /api/v1/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            #expect(raw.starts(with: Array("HTTP/1.1 200 OK\r\n".utf8)))
            #expect(raw.firstRange(of: field + Array("\r\n".utf8)) != nil, "got \(raw.prefix(160))")
        }
    }

    /// A proxy whose route goes to a scripted upstream with `replies`.
    static func withProxy(
        to replies: [ScriptedUpstream.Reply], _ body: (ProxyHarness, ScriptedUpstream) async throws -> Void
    ) async throws {
        let upstream = ScriptedUpstream(replies)
        try await upstream.start()
        let port = upstream.port
        do {
            try await ProxyHarness.with(configure: { config in
                config.routes[0].upstream = UpstreamURL(scheme: "http", host: "127.0.0.1", port: port, basePath: "")
            }) { harness in try await body(harness, upstream) }
        } catch {
            await upstream.stop()
            throw error
        }
        await upstream.stop()
    }

    @Test(arguments: cases)
    func badAnswerIsNotPassedOnOrReused(_ item: Case) async throws {
        try await Self.withProxy(to: [item.reply, Self.fine]) { harness, upstream in
            let raw = try await RawHTTPClient.exchange(
                port: harness.port(),
                "\(item.method) /api/v1/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            let text = String(decoding: raw, as: UTF8.self)
            if item.status == 0 {
                let response = try ParsedResponse(raw)
                #expect(response.body.count < 100, "a cut body was completed")
            } else {
                #expect(text.hasPrefix("HTTP/1.1 \(item.status)"), "got \(text.prefix(80))")
                #expect(!text.contains("evil"))
            }
            // The next request gets the next answer on a fresh connection, never the leftovers.
            let next = try await RawHTTPClient.get(port: harness.port(), "/api/v1/next")
            #expect(next.status == 200)
            #expect(String(decoding: next.body, as: UTF8.self) == "ok")
            #expect(upstream.connections == 2)
        }
    }

    @Test func hopByHopHeadersInTheAnswerAreRemoved() async throws {
        let reply = ScriptedUpstream.Reply(
            bytes: "HTTP/1.1 200 OK\r\nConnection: X-Internal\r\nX-Internal: secret\r\nKeep-Alive: timeout=5\r\n"
                + "Proxy-Authenticate: Basic\r\nTrailer: X-T\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok")
        try await Self.withProxy(to: [reply]) { harness, _ in
            let response = try await RawHTTPClient.get(port: harness.port(), "/api/v1/x")
            #expect(response.status == 200)
            #expect(response.header("X-Kept") == "yes")
            for name in ["X-Internal", "Keep-Alive", "Proxy-Authenticate", "Trailer"] {
                #expect(response.header(name) == nil, "\(name) was passed on")
            }
        }
    }

    @Test func redirectElsewhereIsPassedOnNotFollowed() async throws {
        let reply = ScriptedUpstream.Reply(
            bytes: "HTTP/1.1 302 Found\r\nLocation: https://evil.example/steal\r\nContent-Length: 0\r\n\r\n")
        try await Self.withProxy(to: [reply]) { harness, upstream in
            let response = try await RawHTTPClient.get(port: harness.port(), "/api/v1/x")
            #expect(response.status == 302)
            #expect(response.header("Location") == "https://evil.example/steal")
            #expect(upstream.requests == 1)
        }
    }
}
