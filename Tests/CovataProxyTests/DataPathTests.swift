import CovataMock
import Foundation
import Testing

@testable import CovataProxy
@testable import CurlClient

/// Request and response mapping through the proxy, over real sockets, against covata-mock.
@Suite struct DataPathTests {
    static func echo(_ port: Int, _ request: String) async throws -> ParsedResponse {
        try ParsedResponse(try await RawHTTPClient.exchange(port: port, request))
    }

    static func headerValues(_ response: ParsedResponse, _ name: String) -> [String] {
        ProxyEndToEndTests.seenHeaders(response).filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }

    @Test(arguments: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"])
    func everyMethodIsForwarded(method: String) async throws {
        try await ProxyHarness.with { harness in
            let response = try await Self.echo(
                harness.port(),
                "\(method) /api/v1/things HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
            )
            #expect(response.status == 200)
            #expect(response.json["method"] as? String == method)
            #expect(response.json["bodyBytes"] as? Int == 3)
        }
    }

    @Test(arguments: [
        "/api/v1/x?path=a%2Fb", "/api/v1/x?q=a+b", "/api/v1/x?q=a%20b&q=c", "/api/v1/x?k=1&k=2&k=1",
        "/api/v1/%7Euser/x", "/api/v1/x?", "/api/v1//double//slash", "/api/v1/x?up=../seg",
        "/api/v1/x?json=%7B%22a%22%3A1%7D", "/api/v1/caf%C3%A9?%26=%3D",
    ])
    func oddButLegalTargetsArriveByteExact(target: String) async throws {
        try await ProxyHarness.with { harness in
            let response = try await RawHTTPClient.get(port: harness.port(), target)
            #expect(response.json["uri"] as? String == target)
        }
    }

    /// What reaches Covata of a client's own headers: name case, empty values and repeats kept; nothing curl would
    /// add on its own (`Accept`, `Expect`) when the client did not send it.
    @Test(arguments: [
        ("X-Empty:", "X-Empty", [""]),
        ("x-ODD-Case: v", "x-ODD-Case", ["v"]),
        ("X-Twice: 1\r\nX-Twice: 2", "X-Twice", ["1", "2"]),
        ("Accept: text/csv", "Accept", ["text/csv"]),
        ("User-Agent: legacy-tool/1.0", "Accept", []),
        ("User-Agent: legacy-tool/1.0", "Expect", []),
    ])
    func requestHeadersArriveAsSent(line: String, name: String, values: [String]) async throws {
        try await ProxyHarness.with { harness in
            let response = try await Self.echo(
                harness.port(), "GET /api/v1/h HTTP/1.1\r\nHost: localhost\r\n\(line)\r\nConnection: close\r\n\r\n")
            #expect(Self.headerValues(response, name) == values)
            if !values.isEmpty {
                #expect(ProxyEndToEndTests.seenHeaders(response).contains { $0.0 == name }, "name case changed")
            }
        }
    }

    @Test(arguments: [
        ("Connection: X-Custom\r\nX-Custom: 1", "X-Custom"),
        ("Keep-Alive: timeout=5", "Keep-Alive"),
        ("Proxy-Connection: keep-alive", "Proxy-Connection"),
        ("TE: trailers\r\nConnection: TE", "TE"),
        ("Trailer: X-Checksum", "Trailer"),
        ("Upgrade: websocket\r\nConnection: Upgrade", "Upgrade"),
        ("Proxy-Authorization: Basic eDp5", "Proxy-Authorization"),
        ("Connection: x-a, X-B\r\nX-A: 1\r\nx-b: 2", "X-B"),
        ("Forwarded: for=10.0.0.1;host=evil.example", "Forwarded"),
        ("X-Forwarded-Host: evil.example", "X-Forwarded-Host"),
        ("X-Forwarded-For: 10.0.0.1", "X-Forwarded-For"),
    ])
    func hopByHopRequestHeadersAreRemoved(headers: String, removed: String) async throws {
        try await ProxyHarness.with { harness in
            let response = try await Self.echo(
                harness.port(),
                "GET /api/v1/h HTTP/1.1\r\nHost: localhost\r\n\(headers)\r\nX-Kept: yes\r\nConnection: close\r\n\r\n")
            #expect(Self.headerValues(response, removed).isEmpty)
            #expect(Self.headerValues(response, "Connection").isEmpty)
            #expect(Self.headerValues(response, "X-Kept") == ["yes"])
        }
    }

    @Test func connectionNamingAuthorizationCannotRemoveTheBearer() async throws {
        try await ProxyHarness.with { harness in
            let response = try await Self.echo(
                harness.port(),
                "GET /api/v1/h HTTP/1.1\r\nHost: localhost\r\nConnection: Authorization, close\r\nAuthorization: Bearer forged\r\n\r\n"
            )
            let authorizations = Self.headerValues(response, "Authorization")
            #expect(authorizations.count == 1)
            #expect(authorizations.first != "Bearer forged")
            #expect(authorizations.first?.hasPrefix("Bearer ey") == true)
        }
    }

    @Test func hopByHopResponseHeadersAreRemoved() async throws {
        try await ProxyHarness.with { harness in
            let query = [
                "Connection:X-Hop", "X-Hop:1", "Keep-Alive:timeout=9", "X-End:kept", "Content-Encoding:identity",
            ]
            .map { "respondHeader=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }
            .joined(separator: "&")
            let response = try await RawHTTPClient.get(port: harness.port(), "/api/v1/h?\(query)")
            #expect(response.status == 200)
            #expect(response.header("X-Hop") == nil)
            #expect(response.header("Keep-Alive") == nil)
            #expect(response.header("X-End") == "kept")
            #expect(response.header("Content-Encoding") == "identity")
        }
    }

    @Test(arguments: [204, 304])
    func answersWithoutBodyStayWithoutBody(status: Int) async throws {
        try await ProxyHarness.with { harness in
            try await RawConnection.with(port: harness.port()) { connection in
                // Two requests on one connection: a stray body after the first would corrupt the second answer.
                try await connection.write(
                    "GET /api/v1/s?status=\(status) HTTP/1.1\r\nHost: localhost\r\n\r\nGET /api/v1/s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                )
                try await connection.read { _ in false }
                #expect(connection.text.hasPrefix("HTTP/1.1 \(status)"))
                let second = try #require(connection.text.range(of: "\r\n\r\nHTTP/1.1 200"))
                #expect(!connection.text[..<second.lowerBound].lowercased().contains("transfer-encoding"))
            }
        }
    }

    @Test func headAnswerHasHeadersButNoBody() async throws {
        try await ProxyHarness.with { harness in
            try await RawConnection.with(port: harness.port()) { connection in
                try await connection.write(
                    "HEAD /api/v1/download?size=5000 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /api/v1/s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                )
                try await connection.read { _ in false }
                #expect(connection.text.hasPrefix("HTTP/1.1 200"))
                #expect(connection.text.contains("Content-Length: 5000"))
                let parts = connection.text.components(separatedBy: "\r\n\r\n")
                #expect(parts[1].hasPrefix("HTTP/1.1 200"))
            }
        }
    }

    @Test func redirectsArePassedNotFollowed() async throws {
        try await ProxyHarness.with { harness in
            let location =
                "respondHeader=" + "Location:http://elsewhere.example/x".addingPercentEncoding(
                    withAllowedCharacters: .alphanumerics)!
            let response = try await RawHTTPClient.get(port: harness.port(), "/api/v1/r?status=302&\(location)")
            #expect(response.status == 302)
            #expect(response.header("Location") == "http://elsewhere.example/x")
            #expect(harness.mock.state.apiRequests == 1)
        }
    }

    @Test func expectContinueIsAnsweredBeforeTheBodyIsSent() async throws {
        try await ProxyHarness.with { harness in
            try await RawConnection.with(port: harness.port()) { connection in
                try await connection.write(
                    "PUT /api/v1/upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
                )
                try await connection.read(untilSeen: "\r\n\r\n")
                #expect(connection.text.hasPrefix("HTTP/1.1 100 Continue"))
                try await connection.write("hello")
                try await connection.read { _ in false }
                #expect(connection.text.contains("HTTP/1.1 200"))
                #expect(connection.text.contains("\"bodyBytes\":5"))
            }
        }
    }

    @Test func chunkedUploadArrivesWhole() async throws {
        try await ProxyHarness.with { harness in
            let response = try await Self.echo(
                harness.port(),
                "POST /api/v1/upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
            #expect(response.json["bodyBytes"] as? Int == 11)
            #expect(
                response.json["bodySHA256"] as? String
                    == "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")
            #expect(Self.headerValues(response, "Transfer-Encoding") == ["chunked"])
        }
    }

    @Test func keepAliveServesSequentialRequestsAndReusesUpstreamConnections() async throws {
        try await ProxyHarness.with { harness in
            try await RawConnection.with(port: harness.port()) { connection in
                for index in 1...20 {
                    try await connection.write("GET /api/v1/k?n=\(index) HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    try await connection.read(untilSeen: "\"uri\":\"\\/api\\/v1\\/k?n=\(index)\"")
                }
                #expect(!connection.closedByPeer)
            }
            // One connection for the token request and, reused, one for the API.
            #expect(harness.mock.state.connections <= 3)
        }
    }

    /// Upstream connections outlive a lull between bursts. libcurl sizes its connection cache by the transfers
    /// running at the moment (4 each), so the last transfers of a burst closed the connections the next burst then
    /// opened again: over HTTPS a TLS handshake for every 30 requests at 32 clients.
    @Test func upstreamConnectionsOutliveALullBetweenBursts() async throws {
        let ok = ScriptedUpstream.Reply(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        try await HostileUpstreamTests.withProxy(to: [ok]) { harness, upstream in
            let port = harness.port()
            for burst in 0..<8 {
                try await withThrowingTaskGroup(of: Bool.self) { group in
                    for index in 0..<32 {
                        group.addTask {
                            let raw = try await RawHTTPClient.exchange(
                                port: port,
                                "GET /api/v1/\(burst)/\(index) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                            )
                            return raw.starts(with: Array("HTTP/1.1 200".utf8))
                        }
                    }
                    for try await answered in group { #expect(answered) }
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(upstream.requests == 256)
            #expect(upstream.connections <= 32, "\(upstream.connections) upstream connections for 8 bursts of 32")
        }
    }

    /// The worker keeps each running transfer in one slot of an array and moves the last into a freed slot: 48
    /// transfers ending in another order than they started (their answers delayed 0 to 150 ms) each complete once,
    /// and the worker keeps none of them afterwards.
    @Test func transfersEndingInAnyOrderLeaveTheWorkerEmpty() async throws {
        try await TokenIntegrationTests.withMock { mock, tokens, _ in
            let bearer = try await tokens.token().authorization.value
            let worker = CurlWorker()
            defer { worker.shutdown() }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<48 {
                    let delay = (index * 37) % 151
                    group.addTask {
                        let request = CurlRequest(
                            method: "GET", url: "\(mock.baseURL)/api/v1/slot\(index)?delayMs=\(delay)",
                            headers: [("Authorization", bearer)])
                        return try await worker.fetch(request).head.status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 48))
            // Each fetch returned after the worker took its transfer out (it does so before it reports the end), and
            // the worker has nothing else to do: its array can be read from here.
            #expect(worker.live.isEmpty)
        }
    }

    /// Uploads share memory by depth: the first eight streaming at once each queue up to 256 KiB (the usual single
    /// upload runs at full speed); beyond that each queues, and is read in pieces of, 64 KiB, so 64 stalled 1 MiB
    /// uploads stay under 80 MiB (`bench/run`'s probe: 99-104 MiB before). Depths follow the uploads alive.
    @Test func uploadsQueueLessEachWhileManyStream() {
        final class Ignore: CurlTransferDelegate {
            func transfer(_ transfer: CurlTransfer, didProduce events: [CurlTransferEvent]) {}
        }
        let worker = CurlWorker()
        defer { worker.shutdown() }
        let upload = CurlRequest(method: "PUT", url: "http://127.0.0.1:9/", body: .stream(length: nil))
        var uploads = (0..<10).map { _ in CurlTransfer(request: upload, delegate: Ignore(), worker: worker) }
        #expect(uploads.map(\.uploadDepth) == Array(repeating: 256 << 10, count: 8) + [64 << 10, 64 << 10])
        // Requests without a streamed body do not count.
        let get = CurlTransfer(
            request: CurlRequest(method: "GET", url: "http://127.0.0.1:9/"), delegate: Ignore(), worker: worker)
        #expect(get.uploadDepth == 256 << 10)
        uploads.removeAll()
        #expect(CurlTransfer(request: upload, delegate: Ignore(), worker: worker).uploadDepth == 256 << 10)
    }
}
