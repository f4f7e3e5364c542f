import Foundation
import Testing

@testable import CovataProxy

/// How an answer is framed for the client (RFC 9112 §6): curl has already removed the upstream's framing, so the
/// proxy frames the body again for the client it is talking to. HTTP/1.0 clients (old scripts and libraries) cannot
/// read chunked bodies: they get the body delimited by closing the connection.
@Suite struct ResponseFramingTests {
    static let hello = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    static let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    static let ambiguous = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        /// The request line's method and version, and any extra header lines.
        let method: String
        let version: String
        var target = "/api/v1/x"
        var extra = ""
        let replies: [ScriptedUpstream.Reply]
        /// What the client must see: the status, the framing headers (nil: absent), Connection, and the body.
        var status = 200
        var contentLength: String?
        var transferEncoding: String?
        var connection: String?
        /// The body as the client reads it; nil: not checked (the proxy's JSON error).
        var body: String? = "hello"
        /// Whether a second request on the same connection gets its answer.
        let staysOpen: Bool
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "1.1 client, upstream length", method: "GET", version: "HTTP/1.1", replies: [.init(bytes: hello)],
            contentLength: "5", staysOpen: true),
        Case(
            name: "1.1 client, chunked upstream", method: "GET", version: "HTTP/1.1",
            replies: [.init(bytes: chunked)], transferEncoding: "chunked", staysOpen: true),
        Case(
            name: "1.1 client, upstream ends its body by closing", method: "GET", version: "HTTP/1.1",
            replies: [.init(bytes: "HTTP/1.0 200 OK\r\n\r\nhello", close: true)], transferEncoding: "chunked",
            staysOpen: true),
        Case(
            name: "1.1 client, HEAD answered without a length", method: "HEAD", version: "HTTP/1.1",
            replies: [.init(bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), .init(bytes: hello)],
            body: "", staysOpen: true),
        Case(
            name: "1.1 client, 204", method: "GET", version: "HTTP/1.1",
            replies: [.init(bytes: "HTTP/1.1 204 No Content\r\n\r\n"), .init(bytes: hello)], status: 204,
            body: "", staysOpen: true),
        // RFC 9112 §9.3: an HTTP/1.0 connection persists only if the client asked and the answer says so.
        Case(
            name: "1.0 client, upstream length", method: "GET", version: "HTTP/1.0", replies: [.init(bytes: hello)],
            contentLength: "5", connection: "close", staysOpen: false),
        Case(
            name: "1.0 keep-alive client, upstream length", method: "GET", version: "HTTP/1.0",
            extra: "Connection: keep-alive\r\n", replies: [.init(bytes: hello)], contentLength: "5",
            connection: "keep-alive", staysOpen: true),
        // RFC 9112 §6.1: no Transfer-Encoding to a client that did not send HTTP/1.1; §6.3 rule 8: close instead.
        Case(
            name: "1.0 client, chunked upstream", method: "GET", version: "HTTP/1.0", replies: [.init(bytes: chunked)],
            connection: "close", staysOpen: false),
        Case(
            name: "1.0 keep-alive client, chunked upstream", method: "GET", version: "HTTP/1.0",
            extra: "Connection: keep-alive\r\n", replies: [.init(bytes: chunked)], connection: "close",
            staysOpen: false),
        // The proxy's own answers go through the same framing (a 502 for an ambiguous upstream head).
        Case(
            name: "1.0 keep-alive client, the proxy's own error", method: "GET", version: "HTTP/1.0",
            extra: "Connection: keep-alive\r\n", replies: [.init(bytes: ambiguous), .init(bytes: hello)],
            status: 502, connection: "keep-alive", body: nil, staysOpen: true),
        Case(
            name: "1.1 client, the proxy's own error to a HEAD", method: "HEAD", version: "HTTP/1.1",
            replies: [.init(bytes: ambiguous), .init(bytes: hello)], status: 502, body: "", staysOpen: true),
    ]

    @Test(arguments: cases)
    func answerIsFramedForTheClient(_ item: Case) async throws {
        try await HostileUpstreamTests.withProxy(to: item.replies) { harness, _ in
            try await RawConnection.with(port: harness.port()) { connection in
                let request = "\(item.method) \(item.target) \(item.version)\r\nHost: localhost\r\n\(item.extra)\r\n"
                try await connection.write(request)
                let started = ContinuousClock.now
                let bodyless = item.method == "HEAD" || item.status == 204
                try await connection.read { Self.complete($0, bodyless: bodyless) }
                let first = try ParsedResponse(connection.received)
                #expect(first.status == item.status)
                if item.status != 502 { #expect(first.header("Content-Length") == item.contentLength) }
                #expect(first.header("Transfer-Encoding") == item.transferEncoding)
                #expect(first.header("Connection")?.lowercased() == item.connection)
                if let body = item.body { #expect(String(decoding: first.body, as: UTF8.self) == body) }
                if item.staysOpen {
                    // Where the first answer ends: its head, if it has no body (a stray body would follow it).
                    let headEnd = connection.received.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound ?? 0
                    let firstEnd = bodyless ? headEnd : connection.received.count
                    try await connection.write("GET /api/v1/y \(item.version)\r\nHost: localhost\r\n\(item.extra)\r\n")
                    try await connection.read(untilSeen: "hello", count: item.body == "hello" ? 2 : 1)
                    #expect(!connection.closedByPeer, "the connection was closed: \(connection.text)")
                    // Nothing between the two answers: a bodyless answer really had no body.
                    let next = String(decoding: connection.received[firstEnd...], as: UTF8.self)
                    #expect(next.hasPrefix("HTTP/1.1 200 "), "after the first answer: \(next.prefix(60))")
                } else {
                    // Closed right after the answer, not by the (long) idle limit.
                    try await connection.read { _ in false }
                    #expect(connection.closedByPeer)
                    #expect(ContinuousClock.now - started < .seconds(5))
                    #expect(try ParsedResponse(connection.received).body == first.body, "bytes after the answer")
                }
            }
        }
    }

    /// Whether `bytes` hold one whole answer: a head, then the body its framing announces (a close-delimited body
    /// is whole when the connection closes, which `RawConnection.read` also stops at).
    static func complete(_ bytes: [UInt8], bodyless: Bool) -> Bool {
        guard let split = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { return false }
        if bodyless { return true }
        guard let response = try? ParsedResponse(bytes) else { return false }
        if response.header("Transfer-Encoding") != nil { return true }  // dechunked whole, or it would have thrown
        if let length = response.header("Content-Length").flatMap(Int.init) {
            return bytes.count - split.upperBound >= length
        }
        return false
    }
}
