import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// Requests a careful intermediary must refuse, as raw bytes over a socket (`http-hardening.md` §1.2, §5.2): the
/// right status, nothing reaches Covata, and a request pipelined behind a refused one is never answered: the
/// connection closes.
@Suite struct HostileRequestTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let request: String
        let status: Int
        /// Whether a well-formed request is pipelined behind it (not for cases that must stay incomplete).
        var followUp = true
        var testDescription: String { name }

        init(_ name: String, _ status: Int, _ request: String, followUp: Bool = true) {
            self.name = name
            self.status = status
            self.request = request
            self.followUp = followUp
        }
    }

    static let followUp = "GET /api/v1/after HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"

    @Test(arguments: cases)
    func refusedBeforeReachingCovata(_ item: Case) async throws {
        try await ProxyHarness.with(configure: { config in
            config.timeouts.clientHeaderSeconds = 0.5
            config.timeouts.clientBodyIdleSeconds = 0.5
            config.limits.maxRequestBodyBytes = 1_048_576
        }) { harness in
            let raw = try await RawHTTPClient.exchange(
                port: harness.port(), item.request + (item.followUp ? Self.followUp : ""))
            let text = String(decoding: raw, as: UTF8.self)
            let statuses = text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
            #expect(statuses.first.map(String.init) == "\(item.status)", "got \(text.prefix(120))")
            #expect(statuses.count == 1, "a request pipelined behind a refused one was answered")
            #expect(harness.mock.state.apiRequests == 0)
        }
    }

    /// RFC 9112 §9.3: bytes after a complete request are the next request; garbage there is refused, and the
    /// request before it is answered once, intact.
    @Test(arguments: [
        get,
        "POST /api/v1/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ])
    func garbageAfterACompleteRequestIsNotAnsweredAsARequest(_ first: String) async throws {
        try await ProxyHarness.with { harness in
            let raw = try await RawHTTPClient.exchange(
                port: harness.port(), first + "\r\n\u{01}\u{02}garbage\r\n\r\n" + Self.followUp)
            let statuses = String(decoding: raw, as: UTF8.self).components(separatedBy: "HTTP/1.1 ").dropFirst()
            #expect(statuses.map { String($0.prefix(3)) } == ["200", "400"])
            #expect(harness.mock.state.apiRequests == 1)
        }
    }

    @Test func http10WithoutHostIsStillServed() async throws {
        try await ProxyHarness.with { harness in
            let response = try ParsedResponse(
                try await RawHTTPClient.exchange(port: harness.port(), "GET /api/v1/old HTTP/1.0\r\n\r\n"))
            #expect(response.status == 200)
        }
    }

    /// The names a tool legitimately uses for the proxy all pass the Host check.
    @Test(arguments: ["localhost", "localhost:8080", "127.0.0.1", "127.0.0.1:1", "[::1]:8080", "LOCALHOST"])
    func loopbackHostNamesAreServed(host: String) async throws {
        try await ProxyHarness.with { harness in
            let response = try ParsedResponse(
                try await RawHTTPClient.exchange(
                    port: harness.port(), "GET /api/v1/x HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"))
            #expect(response.status == 200)
        }
    }

    /// The encoding rules refuse by kind, not by accident: what legitimate paths use still passes, byte-exact, and
    /// the query is not judged by path rules.
    @Test(arguments: ["/api/v1/caf%C3%A9%20menu", "/api/v1/a%2Bb%3Dc", "/api/v1/x?q=%25&r=%2e%2e", "/api/v1/%E2%82%AC"])
    func legitimateEncodingsPass(target: String) async throws {
        try await ProxyHarness.with { (harness: ProxyHarness) async throws in
            let response = try await RawHTTPClient.get(port: harness.port(), target)
            #expect(response.status == 200)
            #expect(response.json["uri"] as? String == target)
        }
    }

    /// A head that is fine with a body that is malformed, in the same packet: refused before anything went upstream
    /// (the transfer used to start as soon as the head was parsed, so the upstream often saw the head).
    @Test(arguments: [
        "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        "Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
        "Transfer-Encoding: chunked\r\n\r\n3;\u{01}\r\nabc\r\n0\r\n\r\n",
    ])
    func malformedBodyInTheHeadsPacketNeverReachesTheUpstream(framing: String) async throws {
        let upstream = ScriptedUpstream([.init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")])
        try await upstream.start()
        defer { Task { await upstream.stop() } }
        try await ProxyHarness.with(configure: {
            $0.routes[0].upstream = UpstreamURL(scheme: "http", host: "127.0.0.1", port: upstream.port, basePath: "")
        }) { (harness: ProxyHarness) async throws in
            for _ in 0..<10 {
                let raw = try await RawHTTPClient.exchange(
                    port: harness.port(), "POST /api/v1/x HTTP/1.1\r\nHost: localhost\r\n" + framing)
                #expect(String(decoding: raw, as: UTF8.self).hasPrefix("HTTP/1.1 400"))
            }
            try await Task.sleep(for: .milliseconds(200))
            #expect(upstream.connections == 0, "the upstream saw a request whose body was malformed")
        }
    }
}
