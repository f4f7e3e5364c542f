import CovataMock
import Foundation
import Testing

/// SIGHUP on a running covata-proxy process: rotated credentials are picked up while a download keeps going,
/// and a broken file is refused without disturbing anything.
@Suite(.serialized) struct ReloadTests {
    @Test func sighupRotatesThePasswordWhileADownloadIsInFlight() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try CommandLineTests.writeConfig(mockPort: mock.port)
        let passwordFile = config.deletingLastPathComponent().appendingPathComponent("password")
        try await ProductBinary.withProxy(config: config, environment: CommandLineTests.secretEnvironment) {
            proxy, port in
            #expect(await eventually { (try? await RawHTTPClient.get(port: port, "/api/v1/warm").status) == 200 })

            let size = 48 << 20
            let download = Task {
                try await Shell.run(
                    "curl -sf -m 120 --limit-rate 12M 'http://127.0.0.1:\(port)/api/v1/download?size=\(size)' | wc -c"
                )
            }
            #expect(await eventually { mock.state.activeDownloads == 1 })

            // The operator rotates the password at Covata and in the secret file, and Covata forgets every token.
            let newPassword = "rotated-\(UUID().uuidString)"
            mock.state.setPassword(newPassword)
            try "\(newPassword)\n".write(to: passwordFile, atomically: true, encoding: .utf8)
            mock.state.revokeAll(includingRefreshTokens: true)
            kill(proxy.pid, SIGHUP)
            #expect(await eventually { proxy.printed.contains("configuration reloaded") })

            // A new request recovers: 401 invalid_token, refresh refused, password grant with the new password, replay.
            #expect(try await RawHTTPClient.get(port: port, "/api/v1/after-rotation").status == 200)
            #expect(mock.state.tokenRequests(grant: "password") == 2)
            #expect(Int(try await download.value) == size)

            // A broken file is refused; the proxy keeps serving with what it has.
            try "{ not json".write(to: config, atomically: true, encoding: .utf8)
            kill(proxy.pid, SIGHUP)
            #expect(await eventually { proxy.printed.contains("reload refused") })
            #expect(try await RawHTTPClient.get(port: port, "/api/v1/still-up").status == 200)

            #expect(proxy.stop() == 0)
            for secret in [newPassword, MockSettings().password, MockSettings().clientSecret] + mock.state.issuedTokens
            {
                #expect(!proxy.printed.contains(secret), "printed a secret")
            }
        }
    }
}
