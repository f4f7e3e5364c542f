import CovataMock
import CurlClient
import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// The token machinery over real sockets and real libcurl, against covata-mock.
@Suite struct TokenIntegrationTests {
    static func withMock(
        settings: MockSettings = MockSettings(), password: String = MockSettings().password,
        _ body: (CovataMockServer, TokenManager, CapturedLogs) async throws -> Void
    ) async throws {
        let mock = try await CovataMockServer(settings: settings)
        let worker = CurlWorker()
        let logs = CapturedLogs()
        var config = TestConfigs.oauth(tokenURL: "\(mock.baseURL)/api/oauth/token", password: password)
        config.retryInitialSeconds = 0.05
        config.retryMaxSeconds = 0.2
        let tokens = TokenManager(
            config: config, transport: CurlTokenTransport(worker: worker, timeouts: .defaults), logger: logs.logger())
        do {
            try await body(mock, tokens, logs)
        } catch {
            worker.shutdown()
            await mock.stop()
            throw error
        }
        worker.shutdown()
        await mock.stop()
    }

    @Test func eachRenewalIsAPasswordGrant() async throws {
        try await Self.withMock { mock, tokens, logs in
            let first = try await tokens.token()
            #expect(first.jti != nil)
            #expect(first.lifetime > 3000)
            #expect(mock.state.tokenRequests(grant: "password") == 1)
            await tokens.invalidate(first, resource: "/api/v1/x")
            let second = try await tokens.token()
            await tokens.invalidate(second, resource: "/api/v1/y")
            let third = try await tokens.token()
            #expect(Set([first.jti, second.jti, third.jti]).count == 3)
            #expect(mock.state.tokenRequests(grant: "refresh_token") == 0)
            #expect(mock.state.tokenRequests(grant: "password") == 3)
            #expect(!logs.text.contains(third.value.value))
        }
    }

    /// Spring's token store: a retired token that Covata hands back is the same token, not a renewal.
    @Test func aTokenStoreHandsTheSameTokenBack() async throws {
        var settings = MockSettings()
        settings.tokenStore = .spring
        try await Self.withMock(settings: settings) { mock, tokens, logs in
            let first = try await tokens.token()
            await tokens.invalidate(first, resource: "/api/v1/x")
            let again = try await tokens.token()
            #expect(again.value == first.value)
            #expect(mock.state.tokenCounters.currentTokenReturned == 1)
            #expect(logs.text.contains("Covata handed back the token it had issued"))
            // The resource refused the token Covata confirmed: its next refusal costs no token request.
            await tokens.invalidate(again, resource: "/api/v1/x")
            _ = try await tokens.token()
            #expect(mock.state.tokenRequests(grant: "password") == 2)
        }
    }

    /// Issue #25, 4: one sidecar against Spring's store, signed out everywhere through itself: nothing it holds is a
    /// refresh token, so the sign-out costs no token request and no client sees anything but 200.
    @Test func signOutEverywhereCostsNothingUnderThePasswordGrant() async throws {
        var settings = MockSettings()
        settings.tokenStore = .spring
        try await ProxyHarness.with(mockSettings: settings) { harness in
            let port = harness.port()
            #expect(try await RawHTTPClient.get(port: port, "/api/v1/warm").status == 200)
            let signOut = try ParsedResponse(
                try await RawHTTPClient.exchange(
                    port: port,
                    "PUT /api/v1/users/me/expire HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
                        + "Connection: close\r\n\r\n"))
            #expect(signOut.status == 200)
            for n in 0..<20 { #expect(try await RawHTTPClient.get(port: port, "/api/v1/after?n=\(n)").status == 200) }
            #expect(harness.mock.state.tokenRequests(grant: "password") == 1)
            #expect(harness.mock.state.tokenRequests(grant: "refresh_token") == 0)
        }
    }

    @Test func wrongPasswordIsRejectedOnceAndNotRetried() async throws {
        try await Self.withMock(password: "wrong") { mock, tokens, logs in
            for _ in 0..<10 {
                await #expect(throws: TokenError.self) { try await tokens.token() }
            }
            #expect(mock.state.tokenRequests(grant: "password") == 1)
            let status = await tokens.status()
            #expect(status.credentialsRejected)
            #expect(!status.hasValidToken)
            #expect(!logs.text.contains("wrong"))
        }
    }

    struct FaultCase: Sendable, CustomTestStringConvertible {
        let fault: MockFault
        var testDescription: String { "\(fault)" }
    }

    @Test(arguments: [
        FaultCase(fault: .status(500)), FaultCase(fault: .status(503)), FaultCase(fault: .garbage),
        FaultCase(fault: .truncated), FaultCase(fault: .tokenType("mac")),
    ])
    func transientFaultsRecoverWithoutRestart(_ item: FaultCase) async throws {
        try await Self.withMock { mock, tokens, _ in
            mock.state.setFault(item.fault)
            let error = await #expect(throws: TokenError.self) { try await tokens.token() }
            guard case .unavailable? = error else {
                Issue.record("expected unavailable")
                return
            }
            #expect(await !tokens.status().credentialsRejected)
            mock.state.setFault(.none)
            #expect(await eventually { (try? await tokens.token()) != nil })
        }
    }

    @Test func unreachableTokenEndpointIsTransient() async throws {
        let worker = CurlWorker()
        defer { worker.shutdown() }
        let tokens = TokenManager(
            config: TestConfigs.oauth(tokenURL: "http://127.0.0.1:9/api/oauth/token"),
            transport: CurlTokenTransport(worker: worker, timeouts: .defaults), logger: CapturedLogs().logger())
        let error = await #expect(throws: TokenError.self) { try await tokens.token() }
        guard case .unavailable(let reason, let retryAfter)? = error else {
            Issue.record("expected unavailable")
            return
        }
        #expect(reason.contains("unreachable"))
        #expect(retryAfter >= 1)
    }

    @Test func hangingTokenEndpointTimesOut() async throws {
        let mock = try await CovataMockServer()
        let worker = CurlWorker()
        defer { worker.shutdown() }
        mock.state.setFault(.hang)
        var timeouts = TimeoutsConfig.defaults
        timeouts.tokenRequestSeconds = 0.3
        let tokens = TokenManager(
            config: TestConfigs.oauth(tokenURL: "\(mock.baseURL)/api/oauth/token"),
            transport: CurlTokenTransport(worker: worker, timeouts: timeouts), logger: CapturedLogs().logger())
        await #expect(throws: TokenError.self) { try await tokens.token() }
        await mock.stop()
    }
}
