import Foundation
import Synchronization
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// The token lifecycle with an injected clock and a scripted token endpoint.
@Suite struct TokenManagerTests {
    let clock = ManualClock()
    let logs = CapturedLogs()

    func manager(_ transport: FakeTokenTransport, config: OAuthConfig = TestConfigs.oauth()) -> TokenManager {
        TokenManager(
            config: config, transport: transport, clock: clock, logger: logs.logger(), random: { 1.0 },
            wallClock: { 1_700_000_000 })
    }

    @Test func thousandConcurrentCallersCauseOneTokenRequest() async throws {
        let transport = FakeTokenTransport(holdAnswers: true) { _ in FakeTokenTransport.success(access: "shared") }
        let tokens = manager(transport)
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<1000 { group.addTask { try await tokens.token().value.value } }
            // Generous: in a full parallel run on two cores, a thousand tasks take seconds to reach the actor.
            #expect(await eventually(timeoutSeconds: 30) { transport.requests.count == 1 })
            transport.open()
            var seen = 0
            for try await value in group {
                #expect(value == "shared")
                seen += 1
            }
            #expect(seen == 1000)
        }
        #expect(transport.requests.count == 1)
    }

    @Test func passwordGrantUsesCovataWireFormat() async throws {
        let transport = FakeTokenTransport { _ in FakeTokenTransport.success() }
        var config = TestConfigs.oauth(password: "p&ss=w rd")
        config.scope = "read"
        _ = try await manager(transport, config: config).token()
        let form = try #require(transport.requests.first)
        #expect(
            form == [
                "grant_type": "password", "username": "svc-legacy@example.com", "password": "p&ss=w rd",
                "scope": "read",
            ])
        let basic = Data("exampleClientApplication:exampleClientApplicationSecret".utf8).base64EncodedString()
        #expect(transport.authorizations == ["Basic \(basic)"])
    }

    @Test func renewsAheadOfExpiryWithoutMakingCallersWait() async throws {
        let serial = Counter()
        let transport = FakeTokenTransport { _ in
            FakeTokenTransport.success(access: "a\(serial.next())", expiresIn: 300)
        }
        let tokens = manager(transport)
        await tokens.start()
        defer { Task { await tokens.stop() } }
        #expect(try await tokens.token().value.value == "a1")
        // Margin min(60 s, 20% of 300 s) = 60 s, spread over its second half; the jitter here is 1: at 270 s.
        clock.advance(by: 265)
        #expect(try await tokens.token().value.value == "a1")
        #expect(transport.requests.count == 1)
        clock.advance(by: 6)
        #expect(await eventually { transport.requests.count == 2 })
        #expect(await eventually { (try? await tokens.token().value.value) == "a2" })
        // The password grant renews: a refresh token would remove the token of every sidecar on the account.
        #expect(transport.count(grant: "password") == 2)
        #expect(transport.count(grant: "refresh_token") == 0)
    }

    @Test func shortLivedTokenIsNotRefreshedOnEveryRequest() async throws {
        let transport = FakeTokenTransport { _ in FakeTokenTransport.success(expiresIn: 30) }
        let tokens = manager(transport)
        _ = try await tokens.token()
        // A 60 s margin would make a 30 s token due at once; the 20% bound puts it at 24 s.
        clock.advance(by: 20)
        for _ in 0..<50 { _ = try await tokens.token() }
        #expect(transport.requests.count == 1)
    }

    @Test func theRefreshTokenIsNeverUsedUnderThePasswordGrant() async throws {
        let transport = FakeTokenTransport { _ in FakeTokenTransport.success(refresh: "r-secret") }
        let tokens = manager(transport)
        _ = try await tokens.token()
        clock.advance(by: 300)  // expired: the next caller waits for the operation
        _ = try await tokens.token()
        #expect(transport.requests.map { $0["grant_type"] } == ["password", "password"])
        #expect(await !tokens.status().hasRefreshToken)
        #expect(!logs.text.contains("r-secret"))
    }

    @Test func transientFailuresBackOffExponentially() async throws {
        let transport = FakeTokenTransport { _ in FakeTokenTransport.error(503, "server_error") }
        let tokens = manager(transport)
        // With jitter fixed at its maximum the delays are 1, 2, 4 s.
        for (attempt, delay) in [1.0, 2.0, 4.0].enumerated() {
            await #expect(throws: TokenError.self) { try await tokens.token() }
            #expect(transport.requests.count == attempt + 1)
            clock.advance(by: delay - 0.01)
            let error = await #expect(throws: TokenError.self) { try await tokens.token() }
            guard case .unavailable(let reason, _)? = error else {
                Issue.record("expected unavailable")
                return
            }
            #expect(reason.contains("503"))
            #expect(transport.requests.count == attempt + 1)
            clock.advance(by: 0.01)
        }
        transport.setResponder { _ in FakeTokenTransport.success() }
        _ = try await tokens.token()
        #expect(await tokens.status().lastError == nil)
    }

    @Test func currentTokenIsServedWhileRefreshesFail() async throws {
        let transport = FakeTokenTransport { _ in FakeTokenTransport.success(access: "still-good", expiresIn: 300) }
        let tokens = manager(transport)
        _ = try await tokens.token()
        transport.setResponder { _ in .failure(TokenTransportError("connection refused")) }
        clock.advance(by: 275)
        #expect(try await tokens.token().value.value == "still-good")
        #expect(await eventually { transport.requests.count == 2 })
        #expect(try await tokens.token().value.value == "still-good")
    }

    @Test(arguments: [(400, "invalid_grant"), (401, "invalid_client"), (400, "unauthorized_client")])
    func rejectedCredentialsAreNotRetriedInALoop(status: Int, code: String) async throws {
        let transport = FakeTokenTransport { _ in FakeTokenTransport.error(status, code) }
        let tokens = manager(transport)
        await tokens.start()
        defer { Task { await tokens.stop() } }
        for _ in 0..<20 {
            let error = await #expect(throws: TokenError.self) { try await tokens.token() }
            guard case .credentialsRejected? = error else {
                Issue.record("expected credentialsRejected")
                return
            }
        }
        clock.advance(by: 899)
        for _ in 0..<5 { _ = try? await tokens.token() }
        #expect(transport.requests.count == 1)
        #expect(await tokens.status().credentialsRejected)
        // Only after the long pause is one more attempt made.
        clock.advance(by: 1)
        #expect(await eventually { transport.requests.count == 2 })
    }

    @Test func reloadedCredentialsAreTriedAtOnce() async throws {
        let transport = FakeTokenTransport { form in
            form["password"] == "new" ? FakeTokenTransport.success() : FakeTokenTransport.error(400, "invalid_grant")
        }
        let tokens = manager(transport)
        _ = try? await tokens.token()
        await tokens.update(config: TestConfigs.oauth(password: "new"))
        _ = try await tokens.token()
        #expect(transport.requests.count == 2)
    }

    @Test func invalidateDropsOnlyTheCurrentToken() async throws {
        let serial = Counter()
        let transport = FakeTokenTransport { _ in FakeTokenTransport.success(access: "t\(serial.next())") }
        let tokens = manager(transport)
        let first = try await tokens.token()
        await tokens.invalidate(first, resource: "/api/v1/x")
        let second = try await tokens.token()
        #expect(second.value.value == "t2")
        // A late 401 for the old token must not throw away the new one.
        await tokens.invalidate(first, resource: "/api/v1/x")
        #expect(try await tokens.token().value.value == "t2")
        #expect(transport.requests.count == 2)
    }

    @Test func logsNameTheTokenButNeverItsValue() async throws {
        let transport = FakeTokenTransport { _ in
            FakeTokenTransport.success(access: "SECRET-ACCESS", refresh: "SECRET-REFRESH")
        }
        let tokens = manager(transport)
        let token = try await tokens.token()
        #expect(logs.text.contains("jti"))
        for secret in ["SECRET-ACCESS", "SECRET-REFRESH", "correct horse", "exampleClientApplicationSecret"] {
            #expect(!logs.text.contains(secret))
            #expect(!"\(token)".contains(secret))
            #expect(!String(reflecting: token).contains(secret))
        }
    }
}

/// A thread-safe counter for scripted answers.
final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
}
