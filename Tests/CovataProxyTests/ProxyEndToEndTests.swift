import CovataMock
import Foundation
import ProxyObservability
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// Requests from a raw socket through covata-proxy to covata-mock: the token reaches Covata, errors are clean.
@Suite struct ProxyEndToEndTests {
    /// The header pairs covata-mock saw, from its echo.
    static func seenHeaders(_ response: ParsedResponse) -> [(String, String)] {
        (response.json["headers"] as? [[String]] ?? []).map { ($0[0], $0[1]) }
    }

    @Test func requestArrivesWithBearerAndWithoutClientCredentials() async throws {
        try await ProxyHarness.with { harness in
            let response = try await RawHTTPClient.get(
                port: harness.port(), "/api/v1/users/me?a=1&a=2",
                headers: ["Authorization: Basic dXNlcjpwYXNz", "X-Tool: legacy"])
            #expect(response.status == 200)
            #expect(response.json["uri"] as? String == "/api/v1/users/me?a=1&a=2")
            let seen = Self.seenHeaders(response)
            let authorizations = seen.filter { $0.0.lowercased() == "authorization" }.map(\.1)
            #expect(authorizations.count == 1)
            #expect(authorizations.first?.hasPrefix("Bearer ey") == true)
            #expect(seen.contains { $0 == ("X-Tool", "legacy") })
            #expect(seen.first { $0.0.lowercased() == "host" }?.1 == "127.0.0.1:\(harness.mock.port)")
        }
    }

    @Test func twoRoutesShareOneToken() async throws {
        try await ProxyHarness.with(routes: 2) { harness in
            for index in [0, 1, 0, 1] {
                let response = try await RawHTTPClient.get(port: harness.port(index), "/api/v1/users/me")
                #expect(response.status == 200)
            }
            #expect(harness.mock.state.tokenRequests(grant: "password") == 1)
        }
    }

    @Test func rejectedCredentialsGive503WithAReason() async throws {
        try await ProxyHarness.with(password: "wrong-password") { harness in
            for _ in 0..<3 {
                let response = try await RawHTTPClient.get(port: harness.port(), "/api/v1/users/me")
                #expect(response.status == 503)
                #expect(response.json["error"] as? String == "credentials_rejected")
                #expect((response.json["message"] as? String)?.isEmpty == false)
                #expect(Int(response.header("Retry-After") ?? "") ?? 0 > 0)
                #expect(!String(decoding: response.body, as: UTF8.self).contains("wrong-password"))
            }
            #expect(harness.mock.state.tokenRequests(grant: "password") == 1)
            #expect(harness.mock.state.apiRequests == 0)
        }
    }

    @Test func unavailableTokenEndpointGives503() async throws {
        try await ProxyHarness.with(tokenFault: .status(502)) { harness in
            let response = try await RawHTTPClient.get(port: harness.port(), "/api/v1/users/me")
            #expect(response.status == 503)
            #expect(response.json["error"] as? String == "token_unavailable")
            #expect(response.header("Retry-After") != nil)
            harness.mock.state.setFault(.none)
            #expect(
                await eventually {
                    (try? await RawHTTPClient.get(port: harness.port(), "/api/v1/users/me").status) == 200
                })
        }
    }

    @Test func unreachableUpstreamGives502() async throws {
        try await ProxyHarness.with(configure: { config in
            config.routes[0].upstream = UpstreamURL(scheme: "http", host: "127.0.0.1", port: 9, basePath: "")
        }) { harness in
            let response = try await RawHTTPClient.get(port: harness.port(), "/api/v1/users/me")
            #expect(response.status == 502)
            #expect(response.json["error"] as? String == "upstream_unreachable")
        }
    }

    @Test func basePathIsKeptAsPrefix() async throws {
        try await ProxyHarness.with(basePath: "/api") { harness in
            let response = try await RawHTTPClient.get(port: harness.port(), "/v1/items?q=a%2Fb+c")
            #expect(response.json["uri"] as? String == "/api/v1/items?q=a%2Fb+c")
        }
    }
}

/// Stopping the proxy lets a request in flight finish, telling its client the connection ends, and closes idle
/// keep-alive connections at once.
@Suite struct ShutdownTests {
    @Test func stopDrainsAnInFlightRequest() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let upstream = UpstreamURL(scheme: "http", host: "127.0.0.1", port: mock.port, basePath: "")
        let config = ProxyConfig(
            routes: [RouteConfig(listen: .tcp(host: "127.0.0.1", port: 0), upstream: upstream)],
            oauth: TestConfigs.oauth(tokenURL: "\(mock.baseURL)/api/oauth/token"),
            admin: AdminConfig(listen: .tcp(host: "127.0.0.1", port: 0)), tls: .systemDefault,
            egressProxy: nil, log: LogConfig(level: .info, format: nil), timeouts: .defaults, limits: .defaults)
        let proxy = try await ProxyRuntime.start(
            config: config, logger: CapturedLogs().logger(), accessLog: AccessLog { _ in }, metrics: TestMetrics.make(),
            threads: 1)
        guard case .tcp(_, let port) = proxy.listenAddresses[0] else { return }
        guard case .tcp(_, let adminPort)? = proxy.adminAddress else { return }
        #expect(await eventually { (try? await RawHTTPClient.get(port: adminPort, "/readyz").status) == 200 })
        let slow = Task { try await RawHTTPClient.get(port: port, "/api/v1/slow?delayMs=800") }
        #expect(await eventually { mock.state.apiRequests == 1 })
        // A keep-alive connection with a request in flight: its answer says the connection ends, then it does (the
        // upstream takes 2.5 s, so the stop comes before the answer's head even on a loaded machine).
        // One that idles between requests is closed at once (NIO's quiescing event, as HTTPServerPipelineHandler).
        let busy = Task {
            try await RawConnection.with(port: port) { connection in
                try await connection.write("GET /api/v1/slow?delayMs=2500 HTTP/1.1\r\nHost: localhost\r\n\r\n")
                try await connection.read(untilSeen: "HTTP/1.1 200")
                let answeredAt = ContinuousClock.now
                try await connection.read { _ in false }
                return (connection.text, connection.closedByPeer, answeredAt)
            }
        }
        let (answered, answer) = AsyncStream.makeStream(of: Void.self)
        let idle = Task {
            try await RawConnection.with(port: port) { connection in
                try await connection.write("GET /api/v1/users/me HTTP/1.1\r\nHost: localhost\r\n\r\n")
                try await connection.read(untilSeen: "HTTP/1.1 200")
                answer.yield()
                try await connection.read { _ in false }
                return (connection.text, connection.closedByPeer, ContinuousClock.now)
            }
        }
        for await _ in answered { break }
        #expect(await eventually { mock.state.apiRequests == 3 })
        let stopping = Task { await proxy.stop() }
        // While draining, readiness says so, so an orchestrator stops sending traffic.
        #expect(
            await eventually {
                let ready = try? await RawHTTPClient.get(port: adminPort, "/readyz")
                return ready?.status == 503 && String(decoding: ready?.body ?? [], as: UTF8.self).contains("draining")
            })
        await stopping.value
        let response = try await slow.value
        #expect(response.status == 200)
        let (busyText, busyClosed, busyAnsweredAt) = try await busy.value
        #expect(busyText.hasPrefix("HTTP/1.1 200 ") && busyText.contains("\r\nConnection: close\r\n"), "\(busyText)")
        #expect(busyClosed)
        let (idleText, idleClosed, idleClosedAt) = try await idle.value
        #expect(idleClosed && !idleText.contains("Connection: close"))
        #expect(idleClosedAt < busyAnsweredAt, "the idle connection waited for the drain")
        // The listener is gone: new connections are refused.
        await #expect(throws: (any Error).self) { try await RawHTTPClient.get(port: port, "/api/v1/users/me") }
    }
}

/// Upstream calls go through `egressProxy` when it is set, and never through proxy environment variables.
@Suite struct EgressProxyTests {
    @Test func tokenAndRequestsGoThroughTheConfiguredEgressProxy() async throws {
        // covata-mock plays the corporate proxy: it accepts absolute-form targets and echoes them.
        try await ProxyHarness.with(configure: { config in
            let proxyAddress = config.oauth.tokenURL.text.replacingOccurrences(of: "/api/oauth/token", with: "")
            config.egressProxy = proxyAddress
            config.oauth.tokenURL = try! EndpointURL(parsing: "http://covata.invalid/api/oauth/token")
            config.routes[0].upstream = UpstreamURL(scheme: "http", host: "covata.invalid", port: 8443, basePath: "")
        }) { harness in
            let response = try await RawHTTPClient.get(port: harness.port(), "/api/v1/users/me")
            #expect(response.status == 200)
            #expect(response.json["uri"] as? String == "http://covata.invalid:8443/api/v1/users/me")
            #expect(harness.mock.state.tokenRequests(grant: "password") == 1)
        }
    }

    @Test func proxyEnvironmentVariablesAreIgnored() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try CommandLineTests.writeConfig(mockPort: mock.port)
        var environment = CommandLineTests.secretEnvironment
        for name in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"] {
            environment[name] = "http://127.0.0.1:9"
        }
        try await ProductBinary.withProxy(config: config, environment: environment) { proxy, port in
            #expect(await eventually { (try? await RawHTTPClient.get(port: port, "/api/v1/users/me").status) == 200 })
            #expect(proxy.stop() == 0)
        }
    }
}

/// A route can listen on a unix socket instead of TCP.
@Suite struct UnixSocketTests {
    @Test func requestsThroughAUnixSocketListener() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cp-\(UUID().uuidString.prefix(8)).sock"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await ProxyHarness.with(configure: { $0.routes[0].listen = .unix(path: path) }) { harness in
            let answer = try await Shell.run(
                "curl -sf -m 120 --unix-socket '\(path)' 'http://localhost/api/v1/over-unix?x=1'")
            let json = try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any]
            #expect(json?["uri"] as? String == "/api/v1/over-unix?x=1")
            #expect(harness.mock.state.tokenRequests(grant: "password") == 1)
        }
    }
}
