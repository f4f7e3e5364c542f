import CovataMock
import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// Absolute-form requests (tools that honour http_proxy): forwarded only to the route's own upstream.
@Suite struct ForwardProxyTests {
    static func aliased(_ config: inout ProxyConfig) { config.routes[0].hosts = ["covata.test"] }

    @Test(arguments: [
        ("http://covata.test/api/v1/users/me?x=1", "/api/v1/users/me?x=1"),
        ("http://COVATA.test:80/api/v1/a%7Eb", "/api/v1/a%7Eb"),
        ("https://covata.test:443/api/v1/s", "/api/v1/s"),
        ("http://covata.test/api/v1?q=1", "/api/v1?q=1"),
    ])
    func absoluteFormForTheUpstreamIsForwarded(target: String, forwarded: String) async throws {
        try await ProxyHarness.with(configure: Self.aliased) { harness in
            let response = try await RawHTTPClient.get(
                port: harness.port(), target, headers: ["Proxy-Connection: keep-alive"])
            #expect(response.status == 200)
            #expect(response.json["uri"] as? String == forwarded)
            #expect(DataPathTests.headerValues(response, "Proxy-Connection").isEmpty)
        }
    }

    @Test func upstreamsOwnAuthorityNeedsNoAlias() async throws {
        try await ProxyHarness.with { harness in
            let response = try await RawHTTPClient.get(
                port: harness.port(), "http://127.0.0.1:\(harness.mock.port)/api/v1/own")
            #expect(response.json["uri"] as? String == "/api/v1/own")
        }
    }

    @Test(arguments: [
        "http://evil.example/api/v1/x", "http://covata.test.evil.example/x", "http://covata.test:8443/x",
        "http://user@covata.test/x", "http://127.0.0.2/x",
    ])
    func otherAuthoritiesAreRefusedAndNeverContacted(target: String) async throws {
        try await ProxyHarness.with(configure: Self.aliased) { harness in
            let response = try await RawHTTPClient.get(port: harness.port(), target)
            #expect(response.status == 403 || response.status == 400)
            if response.status == 403 {
                #expect((response.json["message"] as? String)?.contains("covata.test") == true)
            }
            #expect(harness.mock.state.apiRequests == 0)
        }
    }

    @Test func connectIsRefusedWithAnExplanation() async throws {
        try await ProxyHarness.with(configure: Self.aliased) { harness in
            let raw = try await RawHTTPClient.exchange(
                port: harness.port(), "CONNECT covata.test:443 HTTP/1.1\r\nHost: covata.test:443\r\n\r\n")
            let response = try ParsedResponse(raw)
            #expect(
                String(decoding: raw, as: UTF8.self).hasPrefix("HTTP/1.1 405 Method Not Allowed - use http:// URLs"))
            #expect(response.status == 405)
            #expect((response.json["message"] as? String)?.contains("use http:// URLs") == true)
            #expect(harness.mock.state.apiRequests == 0)
        }
    }
}

/// The target mapping itself, including forms a raw socket test would not reach the upstream with.
@Suite struct RequestTargetTests {
    static let route = RouteConfig(
        listen: .tcp(host: "127.0.0.1", port: 0),
        upstream: UpstreamURL(scheme: "https", host: "access-service.example.com", port: nil, basePath: ""),
        hosts: ["covata.internal"])

    @Test(arguments: [
        ("/api/v1/x?a=1", "/api/v1/x?a=1"),
        ("http://access-service.example.com/api/v1/x", "/api/v1/x"),
        ("http://access-service.example.com", "/"),
        ("http://access-service.example.com?q=1", "/?q=1"),
        ("http://access-service.example.com:443/x", "/x"),
        ("https://access-service.example.com:443/x", "/x"),
        ("HTTP://Covata.Internal/x", "/x"),
    ])
    func allowed(target: String, pathAndQuery: String) throws {
        #expect(try RequestTarget.resolve(target, route: Self.route).get() == pathAndQuery)
    }

    @Test(arguments: [
        "http://access-service.example.com:8080/x", "http://evil.example/x", "ftp://access-service.example.com/x",
        "*", "access-service.example.com:443", "http:///x", "http://a@access-service.example.com/x",
    ])
    func refused(target: String) {
        guard case .failure = RequestTarget.resolve(target, route: Self.route) else {
            Issue.record("\(target) was accepted")
            return
        }
    }
}
