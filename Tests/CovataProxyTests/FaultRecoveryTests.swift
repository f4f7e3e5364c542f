import CovataMock
import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// Faults on either side, through the whole proxy: while a fault lasts no request is answered with a success it did
/// not have, and once it clears the proxy recovers without a restart.
@Suite struct FaultRecoveryTests {
    struct TokenFault: Sendable, CustomTestStringConvertible {
        let fault: MockFault
        var testDescription: String { "\(fault)" }
    }

    @Test(arguments: [
        TokenFault(fault: .status(500)), TokenFault(fault: .garbage), TokenFault(fault: .truncated),
        TokenFault(fault: .tokenType("mac")), TokenFault(fault: .hang), TokenFault(fault: .status(429)),
    ])
    func tokenEndpointFaultGives503UntilItClears(_ item: TokenFault) async throws {
        try await ProxyHarness.with(tokenFault: item.fault, configure: { $0.timeouts.tokenRequestSeconds = 0.3 }) {
            harness in
            for _ in 0..<3 {
                let response = try await RawHTTPClient.get(port: harness.port(), "/api/v1/users/me")
                #expect(response.status == 503)
                #expect(response.json["error"] as? String == "token_unavailable")
            }
            #expect(harness.mock.state.apiRequests == 0)
            #expect(try await RawHTTPClient.get(port: harness.adminPort, "/readyz").status == 503)
            harness.mock.state.setFault(.none)
            #expect(
                await eventually {
                    (try? await RawHTTPClient.get(port: harness.port(), "/api/v1/users/me").status) == 200
                })
            #expect(try await RawHTTPClient.get(port: harness.adminPort, "/readyz").status == 200)
        }
    }

    /// A client that resets its connection in the middle of an upload: Covata never sees a complete request, and
    /// the proxy serves the next one.
    @Test func clientResetMidUploadNeverCompletesUpstream() async throws {
        try await ProxyHarness.with { harness in
            try await RawConnection.with(port: harness.port()) { connection in
                try await connection.write(
                    "PUT /api/v1/upload?readDelayMs=5 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10000000\r\n\r\n")
                try await connection.write([UInt8](repeating: 0x61, count: 2_000_000))
            }
            #expect(await eventually { harness.proxy.inFlightCount == 0 })
            #expect(harness.mock.state.apiRequests == 0)
            #expect(try await RawHTTPClient.get(port: harness.port(), "/api/v1/next").status == 200)
        }
    }

    /// The upstream refuses connections, then comes back on the same port: 502 while it is down, then served by the
    /// same proxy.
    @Test func upstreamDownThenUp() async throws {
        // A port outside Linux's ephemeral range (32768 and up), which the kernel never hands to a port-0 bind: a
        // test running alongside cannot take it while it is "down" (one did, with a port released here).
        var port = 0
        for candidate in (0..<100).map({ _ in Int.random(in: 20_000..<32_000) }) {
            let probe = ScriptedUpstream([HostileUpstreamTests.fine])
            guard (try? await probe.start(port: candidate)) != nil else { continue }
            await probe.stop()
            port = candidate
            break
        }
        try #require(port != 0)
        try await ProxyHarness.with(configure: { config in
            config.routes[0].upstream = UpstreamURL(scheme: "http", host: "127.0.0.1", port: port, basePath: "")
        }) { harness in
            #expect(try await RawHTTPClient.get(port: harness.port(), "/api/v1/x").status == 502)
            let upstream = ScriptedUpstream([HostileUpstreamTests.fine])
            try await upstream.start(port: port)
            #expect(try await RawHTTPClient.get(port: harness.port(), "/api/v1/x").status == 200)
            await upstream.stop()
        }
    }
}
