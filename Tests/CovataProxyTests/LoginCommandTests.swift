import CovataMock
import Foundation
import Testing

@testable import CovataProxy

/// `covata-proxy login` end to end: the real binary, covata-mock's authorize and token endpoints, curl as the
/// browser, and then the proxy running on what login stored, with no password anywhere.
@Suite struct LoginCommandTests {
    /// A proxy.json for the code grant with its state file in `state/`; returns its URL.
    static func writeConfig(mockPort: Int, redirectPort: Int) throws -> URL {
        let config = try CommandLineTests.writeConfig(
            mockPort: mockPort,
            signIn: """
                "grant": "authorization_code", "redirectURI": "http://127.0.0.1:\(redirectPort)/callback",
                "stateFile": "state/token.json"
                """)
        try FileManager.default.createDirectory(
            at: config.deletingLastPathComponent().appendingPathComponent("state"), withIntermediateDirectories: true)
        return config
    }

    /// A port that is free now, below Linux's ephemeral range (32768 and up): a port-0 port would be handed to the
    /// next port-0 listener of a test running alongside once released.
    static func freePort() async throws -> Int {
        let script = """
            import random, socket
            while True:
                port = random.randrange(20000, 32000)
                s = socket.socket()
                try:
                    s.bind(('127.0.0.1', port))
                    print(port)
                    break
                except OSError:
                    pass
                finally:
                    s.close()
            """
        return Int(try await Shell.run("python3 - <<'EOF'\n\(script)\nEOF")) ?? 0
    }

    /// The authorize URL the command printed, once it has.
    static func printedURL(_ login: ProductBinary.Running) async throws -> String {
        var url = ""
        _ = await eventually {
            url =
                login.printed.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix("http://") && $0.contains("/api/oauth/authorize?") } ?? ""
            return !url.isEmpty
        }
        return try #require(url.isEmpty ? nil : url)
    }

    @Test func loopbackRedirectSignsInAndTheProxyRunsWithoutAnyLogin() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try Self.writeConfig(mockPort: mock.port, redirectPort: try await Self.freePort())
        let environment = CommandLineTests.secretEnvironment
        let login = try ProductBinary("covata-proxy").start(
            ["login", "--config", config.path], environment: environment)
        defer { _ = login.stop() }
        let url = try await Self.printedURL(login)
        #expect(url.contains("code_challenge_method=S256"))
        #expect(url.contains("state="))

        // The browser follows Covata's redirect back to the command's loopback listener.
        let redirect = try await Shell.run("curl -s -o /dev/null -w '%{redirect_url}' '\(url)'")
        #expect(redirect.contains("code="))
        // A redirect with someone else's state is refused, and the command keeps waiting for the real one.
        let forged = redirect.replacingOccurrences(of: "state=", with: "state=forged")
        #expect(try await Shell.run("curl -s -o /dev/null -w '%{http_code}' '\(forged)'") == "400")
        let page = try await Shell.run("curl -s '\(redirect)'")
        #expect(page.contains("Signed in"))
        #expect(try await login.exitStatus() == 0)
        #expect(login.printed.contains("Refresh token stored in"))

        let statePath = config.deletingLastPathComponent().appendingPathComponent("state/token.json").path
        #expect(TokenStateFileTests.mode(statePath) == 0o600)
        #expect(mock.state.tokenRequests(grant: "authorization_code") == 1)
        for token in mock.state.issuedTokens { #expect(!login.printed.contains(token)) }

        // A code is good once only, and never without its PKCE verifier.
        let code = try #require(AuthorizationResponse(pasted: redirect)?.code)
        let replay = try await Self.exchange(code: code, redirect: redirect, mock: mock)
        #expect(replay.contains("invalid_grant"))

        try await ProductBinary.withProxy(config: config, environment: environment) { proxy, port in
            let status = try await Shell.run("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:\(port)/api/v1/x")
            #expect(status == "200")
            #expect(proxy.printed.contains("token state restored"))
        }
        // The proxy started on the stored access token: no token request at all (the second code request was the
        // refused replay above), and never a password.
        #expect(mock.state.tokenRequests(grant: "authorization_code") == 2)
        #expect(mock.state.tokenRequests(grant: "refresh_token") == 0)
        #expect(mock.state.tokenRequests(grant: "password") == 0)
    }

    @Test func pastedRedirectAddressSignsIn() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try Self.writeConfig(mockPort: mock.port, redirectPort: try await Self.freePort())
        let input = Pipe()
        let login = try ProductBinary("covata-proxy").start(
            ["login", "--config", config.path, "--paste"], environment: CommandLineTests.secretEnvironment,
            input: input)
        defer { _ = login.stop() }
        let url = try await Self.printedURL(login)
        let redirect = try await Shell.run("curl -s -o /dev/null -w '%{redirect_url}' '\(url)'")
        // What an operator copies from a browser whose loopback page could not load (the address bar).
        input.fileHandleForWriting.write(Data("not a code at all ?x=1\n\(redirect)\n".utf8))
        #expect(try await login.exitStatus() == 0)
        #expect(login.printed.contains("neither the redirected address nor a code"))
        #expect(mock.state.tokenRequests(grant: "authorization_code") == 1)
    }

    @Test func codeWithoutItsVerifierIsRefusedByTheMock() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let challenge = AuthorizationRequest.base64URL(Array("not-the-hash".utf8))
        let redirect = try await Shell.run(
            "curl -s -o /dev/null -w '%{redirect_url}' '\(mock.baseURL)/api/oauth/authorize?response_type=code"
                + "&client_id=exampleClientApplication&redirect_uri=https%3A%2F%2Fx.example%2Fcb&state=s"
                + "&code_challenge=\(challenge)&code_challenge_method=S256'")
        let code = try #require(AuthorizationResponse(pasted: redirect)?.code)
        let answer = try await Self.exchange(code: code, redirect: "https://x.example/cb", mock: mock)
        #expect(answer.contains("invalid_grant"))
        #expect(answer.contains("Code verifier required"))
    }

    @Test func loginRefusesAPasswordGrantConfig() async throws {
        let config = try CommandLineTests.writeConfig(mockPort: 9)
        let (status, printed) = try await ProductBinary("covata-proxy").run(
            ["login", "--config", config.path], environment: CommandLineTests.secretEnvironment)
        #expect(status == 2)
        #expect(printed.contains("oauth.grant"))
    }

    @Test func runRefusesAStateFileOthersCanRead() async throws {
        let config = try Self.writeConfig(mockPort: 9, redirectPort: 9)
        let statePath = config.deletingLastPathComponent().appendingPathComponent("state/token.json").path
        _ = FileManager.default.createFile(atPath: statePath, contents: Data("{}".utf8))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: statePath)
        let (status, printed) = try await ProductBinary("covata-proxy").run(
            ["run", "--config", config.path], environment: CommandLineTests.secretEnvironment)
        #expect(status == 2)
        #expect(printed.contains("oauth.stateFile"))
        #expect(printed.contains("chmod 600"))
    }

    /// Posts a code exchange the way a client would (Basic auth, form body); returns the answer body.
    static func exchange(code: String, redirect: String, mock: CovataMockServer) async throws -> String {
        let redirectURI = redirect.split(separator: "?").first.map(String.init) ?? redirect
        let settings = MockSettings()
        return try await Shell.run(
            "curl -s -u '\(settings.clientID):\(settings.clientSecret)' --data-urlencode grant_type=authorization_code"
                + " --data-urlencode code='\(code)' --data-urlencode redirect_uri='\(redirectURI)'"
                + " '\(mock.baseURL)/api/oauth/token'")
    }
}
