import CovataMock
import Foundation
import Testing

@testable import CovataProxy
@testable import CurlClient
@testable import ProxyConfiguration

/// Answers that point back at Covata point at the proxy, so tools that follow redirects stay on the proxy.
@Suite struct RedirectRewriteTests {
    /// Which answers the rewriter looks at: any of the three fields, in any case, and no other name.
    @Test(arguments: [
        (["Location"], true), (["content-LOCATION"], true), (["LINK"], true), (["Date", "link"], true),
        (["X-Location", "Locations", "Lin", "Content-Locatio"], false), ([], false),
    ])
    func answersThatMentionURLs(names: [String], mentions: Bool) {
        var fields = HeaderFields()
        for name in names {
            let line = Array("\(name): /x".utf8)
            let count = name.utf8.count
            line.withUnsafeBytes { fields.append(from: $0, name: 0..<count, value: (count + 2)..<line.count) }
        }
        #expect(RedirectRewriter.mentionsURLs(fields) == mentions, "\(names)")
    }

    static let routes: [(RouteConfig, ListenAddress)] = [
        route("127.0.0.1:8080", "https://access.example.com"),
        route("127.0.0.1:8081", "https://content.example.com/base"),
        route("unix:/run/covata/other.sock", "https://other.example.com"),
        route("[::1]:8083", "http://[2001:db8::1]:8443/v6"),
        route("0.0.0.0:8084", "https://wide.example.com"),
    ]

    static func route(_ listen: String, _ upstream: String) -> (RouteConfig, ListenAddress) {
        let address = try! ListenAddress.parse(listen, keyPath: "listen")
        let url = try! UpstreamURL.parse(upstream, keyPath: "upstream", allowPlainHTTP: true)
        return (RouteConfig(listen: address, upstream: url), address)
    }

    static let rewriter = RedirectRewriter(targets: routes.map { RedirectRewriter.Target($0.0, bound: $0.1) })

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var url: String
        var own = 0
        var clientHost: String? = nil
        var expected: RedirectRewriter.Outcome
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "own route", url: "https://access.example.com/api/v1/y?x=1#f",
            expected: .rewritten("http://127.0.0.1:8080/api/v1/y?x=1#f")),
        Case(
            name: "own route, the Host the client used", url: "https://access.example.com/api/v1/y",
            clientHost: "localhost:8080", expected: .rewritten("http://localhost:8080/api/v1/y")),
        Case(
            name: "host case and explicit default port", url: "HTTPS://Access.Example.COM:443/a",
            expected: .rewritten("http://127.0.0.1:8080/a")),
        Case(
            name: "other route, under its base path", url: "https://content.example.com/base/files/1",
            clientHost: "localhost:8080", expected: .rewritten("http://127.0.0.1:8081/files/1")),
        Case(
            name: "other route, the base path itself", url: "https://content.example.com/base?page=2",
            expected: .rewritten("http://127.0.0.1:8081/?page=2")),
        Case(
            name: "base path prefix off a segment boundary", url: "https://content.example.com/basement/x",
            expected: .unchanged),
        Case(name: "outside the base path", url: "https://content.example.com/other", expected: .unchanged),
        Case(name: "another port", url: "https://access.example.com:8443/a", expected: .unchanged),
        Case(name: "another scheme", url: "http://access.example.com/a", expected: .unchanged),
        Case(name: "foreign origin", url: "https://storage.example.net/blob?sig=abc", expected: .unchanged),
        Case(name: "relative reference", url: "/api/v1/y", expected: .unchanged),
        Case(name: "scheme-relative reference", url: "//access.example.com/a", expected: .unchanged),
        Case(name: "user info is never rewritten", url: "https://x@access.example.com/a", expected: .unchanged),
        Case(
            name: "unix-socket route", url: "https://other.example.com/a",
            expected: .unixRoute(name: "unix:/run/covata/other.sock")),
        Case(
            name: "IPv6 literal upstream and listener", url: "http://[2001:DB8::1]:8443/v6/a",
            expected: .rewritten("http://[::1]:8083/a")),
        Case(
            name: "wildcard listener takes the client's host name", url: "https://wide.example.com/a",
            clientHost: "covata-sidecar:8080", expected: .rewritten("http://covata-sidecar:8084/a")),
    ]

    @Test(arguments: cases)
    func rule(_ item: Case) {
        #expect(Self.rewriter.rewrite(Substring(item.url), own: item.own, clientHost: item.clientHost) == item.expected)
    }

    @Test func linkReferencesAreRewrittenOneByOne() {
        var unix: [String] = []
        let value =
            #"<https://access.example.com/api/v1/items?page=2>; rel="next", </api/v1/items?page=0>; rel="prev", "#
            + #"<https://storage.example.net/x>; rel="alternate", <https://other.example.com/z>; rel="related""#
        let rewritten = Self.rewriter.rewriteLink(Substring(value), own: 0, clientHost: nil, unixRoutes: &unix)
        #expect(
            rewritten
                == #"<http://127.0.0.1:8080/api/v1/items?page=2>; rel="next", </api/v1/items?page=0>; rel="prev", "#
                + #"<https://storage.example.net/x>; rel="alternate", <https://other.example.com/z>; rel="related""#)
        #expect(unix == ["unix:/run/covata/other.sock"])
        #expect(Self.rewriter.rewriteLink("</a>; rel=\"self\"", own: 0, clientHost: nil, unixRoutes: &unix) == nil)
    }

    /// A redirect to the route's own upstream, followed by curl -L and by Java's HttpURLConnection: both end at a
    /// 200 through the proxy instead of a 401 from Covata called without a token.
    @Test func toolsThatFollowRedirectsStayOnTheProxy() async throws {
        try await ProxyHarness.with { (harness: ProxyHarness) async throws in
            let port = harness.port()
            let location = "Location:\(harness.mock.baseURL)/api/v1/landed"
            let start = "http://127.0.0.1:\(port)/api/v1/moved?status=302&respondHeader=\(location)"
            let curl = try await Shell.run("curl -sL -o /dev/null -w '%{http_code} %{url_effective}' '\(start)'")
            #expect(curl == "200 http://127.0.0.1:\(port)/api/v1/landed")
            let classes = FileManager.default.temporaryDirectory.appendingPathComponent("follow-\(UUID().uuidString)")
            try await Shell.run("javac -d '\(classes.path)' '\(ClientMatrixTests.fixtures)/Follow.java'")
            let java = try await Shell.run("java -cp '\(classes.path)' Follow '\(start)'")
            #expect(java == "200 http://127.0.0.1:\(port)/api/v1/landed")
            #expect(harness.mock.state.tokenRequests(grant: "password") == 1)
        }
    }

    /// Only the three fields change; in forward-proxy mode, and with rewriteRedirects off, nothing does.
    @Test func onlyBaseURLRequestsOnRoutesThatWantItAreRewritten() async throws {
        try await ProxyHarness.with(routes: 2, configure: { $0.routes[1].rewriteRedirects = false }) {
            (harness: ProxyHarness) async throws in
            let upstream = harness.mock.baseURL
            let query =
                "status=201&respondHeader=Location:\(upstream)/api/v1/new"
                + "&respondHeader=Content-Location:\(upstream)/api/v1/new&respondHeader=X-Other:\(upstream)/api/v1/new"
            let created = try await RawHTTPClient.get(port: harness.port(0), "/api/v1/create?\(query)")
            #expect(created.header("Location") == "http://127.0.0.1:\(harness.port(0))/api/v1/new")
            #expect(created.header("Content-Location") == "http://127.0.0.1:\(harness.port(0))/api/v1/new")
            #expect(created.header("X-Other") == "\(upstream)/api/v1/new")
            #expect(String(decoding: created.body, as: UTF8.self) == "status 201")

            let off = try await RawHTTPClient.get(port: harness.port(1), "/api/v1/create?\(query)")
            #expect(off.header("Location") == "\(upstream)/api/v1/new")

            let absolute = try await RawHTTPClient.exchange(
                port: harness.port(0),
                "GET \(upstream)/api/v1/create?\(query) HTTP/1.1\r\nHost: 127.0.0.1:\(harness.mock.port)\r\n"
                    + "Connection: close\r\n\r\n")
            #expect(try ParsedResponse(absolute).header("Location") == "\(upstream)/api/v1/new")
        }
    }
}
