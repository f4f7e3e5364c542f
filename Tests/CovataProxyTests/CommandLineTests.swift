import ProxyObservability
import CovataMock
import Foundation
import Testing

@testable import CovataProxy

/// The covata-proxy executable as an operator runs it.
@Suite struct CommandLineTests {
    let binary = ProductBinary("covata-proxy")

    /// A temporary folder with a proxy.json for `mockPort` and a password file.
    static func writeConfig(mockPort: Int, password: String = MockSettings().password, extra: String = "") throws -> URL
    {
        try writeConfig(
            mockPort: mockPort, files: ["password": "\(password)\n"],
            signIn: #""username": "svc-legacy@example.com", "password": { "file": "password" }"# + extra)
    }

    /// A temporary folder holding `files` and a proxy.json whose route and token endpoint are covata-mock on
    /// `mockPort`; `signIn` completes the `oauth` object after the client credentials.
    static func writeConfig(mockPort: Int, files: [String: String] = [:], signIn: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for (name, content) in files {
            try content.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let config = """
            {
              "routes": [{ "listen": "127.0.0.1:0", "upstream": "http://127.0.0.1:\(mockPort)" }],
              "oauth": {
                "tokenURL": "http://127.0.0.1:\(mockPort)/api/oauth/token",
                "clientID": "exampleClientApplication",
                "clientSecret": { "env": "TEST_CLIENT_SECRET" },
                \(signIn)
              },
              "log": { "level": "trace", "format": "json" }
            }
            """
        try config.write(to: directory.appendingPathComponent("proxy.json"), atomically: true, encoding: .utf8)
        return directory.appendingPathComponent("proxy.json")
    }

    static let secretEnvironment = ["TEST_CLIENT_SECRET": MockSettings().clientSecret]

    @Test func checkConfigAcceptsAGoodFile() async throws {
        let config = try Self.writeConfig(mockPort: 9)
        let (status, printed) = try await binary.run(
            ["check-config", "--config", config.path], environment: Self.secretEnvironment)
        #expect(status == 0)
        #expect(printed.contains("configuration OK"))
    }

    @Test(arguments: [
        (#", "scopes": "x""#, "oauth.scopes"),
        (#", "refreshAheadSeconds": "soon""#, "oauth.refreshAheadSeconds"),
    ])
    func checkConfigRejectsWithOneLineNamingTheKey(extra: String, keyPath: String) async throws {
        let config = try Self.writeConfig(mockPort: 9, extra: extra)
        let (status, printed) = try await binary.run(
            ["check-config", "--config", config.path], environment: Self.secretEnvironment)
        #expect(status == 2)
        #expect(printed.contains(keyPath))
        #expect(printed.trimmingCharacters(in: .newlines).split(separator: "\n").count == 1)
    }

    /// The image's health check: ready, not ready (rejected credentials), and no admin listener to ask.
    @Test func healthAsksTheAdminListener() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let noAdmin = try Self.writeConfig(mockPort: mock.port)
        let (status, printed) = try await binary.run(
            ["health", "--config", noAdmin.path], environment: Self.secretEnvironment)
        #expect(status == 2)
        #expect(printed.contains("no admin listener is configured (admin.listen)"))
        for (password, expected) in [(MockSettings().password, Int32(0)), ("wrong", Int32(1))] {
            let config = try Self.writeConfig(mockPort: mock.port, password: password)
            var text = try String(contentsOf: config, encoding: .utf8)
            let adminPort = try await LoginCommandTests.freePort()
            let end = try #require(text.range(of: "}", options: .backwards))
            text.replaceSubrange(end, with: #", "admin": { "listen": "127.0.0.1:\#(adminPort)" } }"#)
            try text.write(to: config, atomically: true, encoding: .utf8)
            try await ProductBinary.withProxy(config: config, environment: Self.secretEnvironment) {
                (proxy: ProductBinary.Running, _: Int) async throws in
                #expect(await eventually { proxy.printed.contains("admin listening") })
                if expected == 1 { #expect(await eventually { proxy.printed.contains("credentials rejected") }) }
                var result: (status: Int32, printed: String) = (-1, "")
                #expect(
                    await eventually {
                        result =
                            (try? await binary.run(
                                ["health", "--config", config.path], environment: Self.secretEnvironment)) ?? (-1, "")
                        return result.status == expected
                    })
                #expect(result.printed.contains(expected == 0 ? "ready:" : "not ready:"), "\(result.printed)")
                // Alive either way (issue #30): rejected credentials must not make a liveness probe restart the
                // proxy into another password attempt.
                let live = try await binary.run(
                    ["health", "--live", "--config", config.path], environment: Self.secretEnvironment)
                #expect(live.status == 0, "\(live.printed)")
            }
        }
    }

    /// Issue #30: a literal secret that looks like a file path or an environment reference passes (a password may
    /// look like anything) but is warned about, naming the key and the form probably meant, never the value.
    @Test(arguments: [
        ("password.txt", "{\"file\": \"PATH\"}"), ("./secrets/pw", "{\"file\": \"PATH\"}"),
        ("env:COVATA_PASSWORD", "{\"env\": \"NAME\"}"), ("${COVATA_PASSWORD}", "{\"env\": \"NAME\"}"),
        ("correct horse battery staple", ""),
    ])
    func literalSecretsThatLookLikeAMistakeAreWarnedAbout(literal: String, meant: String) async throws {
        let config = try Self.writeConfig(
            mockPort: 9, signIn: #""username": "svc-legacy@example.com", "password": "\#(literal)""#)
        let (status, printed) = try await binary.run(
            ["check-config", "--config", config.path], environment: Self.secretEnvironment)
        #expect(status == 0)
        #expect(printed.contains("warning: oauth.password:") == !meant.isEmpty, "\(printed)")
        if !meant.isEmpty { #expect(printed.contains("Did you mean \(meant)?")) }
        #expect(!printed.contains(literal))
    }

    /// A listener that cannot bind says which key and address, and the process exits 1.
    @Test func bindErrorsNameTheAddress() async throws {
        let taken = ScriptedUpstream([.init(bytes: "")])
        try await taken.start()
        defer { Task { await taken.stop() } }
        let config = try Self.writeConfig(mockPort: 9)
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(
            of: #""listen": "127.0.0.1:0""#, with: #""listen": "127.0.0.1:\#(taken.port)""#)
        try text.write(to: config, atomically: true, encoding: .utf8)
        let (status, printed) = try await binary.run(
            ["run", "--config", config.path], environment: Self.secretEnvironment)
        #expect(status == 1)
        #expect(
            printed.contains("cannot listen on 127.0.0.1:\(taken.port) (routes[0].listen): already in use"), "\(printed)")
        #expect(!printed.contains("descriptor"), "NIO's wording, not an operator's")
    }

    /// One-shot commands speak as one: the URL they called and the cause, at the default level, no daemon wording.
    @Test func tokenFailuresNameTheURLAndTheCause() async throws {
        let dead = try Self.writeConfig(mockPort: 9)
        var (status, printed) = try await binary.run(
            ["token", "--config", dead.path], environment: Self.secretEnvironment)
        #expect(status == 1)
        #expect(printed.contains("login at http://127.0.0.1:9/api/oauth/token failed"), "\(printed)")
        #expect(printed.contains("onnect"), "\(printed)")
        #expect(!printed.contains("will retry") && !printed.contains("retry_in"))

        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let wrong = try Self.writeConfig(mockPort: mock.port, password: "wrong")
        (status, printed) = try await binary.run(
            ["token", "--config", wrong.path], environment: Self.secretEnvironment)
        #expect(status == 1)
        #expect(printed.contains("Covata rejected the configured credentials"), "\(printed)")
        #expect(!printed.contains("not retrying") && !printed.contains("pause"))
    }

    @Test func versionComesFromOneSource() async throws {
        for arguments in [["--version"], ["version"]] {
            let (status, printed) = try await binary.run(arguments)
            #expect(status == 0)
            #expect(printed.hasPrefix("covata-proxy \(BuildInfo.version) (libcurl 7."), "\(printed)")
        }
    }

    @Test func missingSecretEnvironmentIsAConfigError() async throws {
        let config = try Self.writeConfig(mockPort: 9)
        let (status, printed) = try await binary.run(
            ["run", "--config", config.path], environment: ["TEST_CLIENT_SECRET": ""])
        #expect(status == 2)
        #expect(printed.contains("oauth.clientSecret"))
        #expect(printed.contains("TEST_CLIENT_SECRET"))
    }

    @Test func tokenCommandPrintsJTIButNotTheToken() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try Self.writeConfig(mockPort: mock.port)
        let (status, printed) = try await binary.run(
            ["token", "--config", config.path], environment: Self.secretEnvironment)
        #expect(status == 0)
        #expect(printed.contains("jti: "))
        #expect(printed.contains("expires in: "))
        for token in mock.state.issuedTokens { #expect(!printed.contains(token)) }
        let shown = try await binary.run(
            ["token", "--config", config.path, "--show-token"], environment: Self.secretEnvironment)
        // The access token (a JWT) of the second run, not its refresh token.
        #expect(mock.state.issuedTokens.contains { $0.hasPrefix("eyJ") && shown.printed.contains($0) })
    }

    @Test func tokenCommandReportsRejectedCredentials() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try Self.writeConfig(mockPort: mock.port, password: "not-the-password")
        let (status, printed) = try await binary.run(
            ["token", "--config", config.path], environment: Self.secretEnvironment)
        #expect(status == 1)
        #expect(printed.contains("rejected"))
        #expect(!printed.contains("not-the-password"))
    }

    /// Everything the running process printed, at trace level, through logins, refreshes, rejected refresh
    /// tokens (whose error_description echoes the token), 401s and shutdown: no secret, no token.
    @Test func noSecretOrTokenIsEverPrinted() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try Self.writeConfig(mockPort: mock.port)
        try await ProductBinary.withProxy(config: config, environment: Self.secretEnvironment) { proxy, routePort in
            #expect(
                await eventually { (try? await RawHTTPClient.get(port: routePort, "/api/v1/users/me").status) == 200 })
            mock.state.revokeAll(includingRefreshTokens: true)  // next refresh is refused with the token echoed back
            let afterRevoke = try await RawHTTPClient.get(port: routePort, "/api/v1/users/me")
            #expect(afterRevoke.status == 200)  // refresh refused (token echoed back), password grant, replayed
            mock.state.setFault(.status(500))
            _ = try await RawHTTPClient.get(
                port: routePort, "/api/v1/users/me", headers: ["Authorization: Basic c2VjcmV0"])
            mock.state.setFault(.none)
            #expect(proxy.stop() == 0)
            let printed = proxy.printed
            #expect(printed.contains("access token obtained"))
            let secrets = [MockSettings().clientSecret, MockSettings().password] + mock.state.issuedTokens
            #expect(secrets.count >= 3)
            for secret in secrets { #expect(!printed.contains(secret), "printed a secret") }
        }
    }
}
