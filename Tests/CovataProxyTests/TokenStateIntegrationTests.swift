import CovataMock
import CurlClient
import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// The state file with the real token lifecycle: libcurl against covata-mock, managers started and stopped as a
/// restarted proxy would be.
@Suite struct TokenStateIntegrationTests {
    /// Runs `body` with a mock and a factory of token managers that share one state file.
    static func withStateFile(
        signIn: OAuthSignIn? = nil,
        _ body: (CovataMockServer, String, @Sendable (CapturedLogs) -> TokenManager) async throws -> Void
    ) async throws {
        let mock = try await CovataMockServer()
        let worker = CurlWorker()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tsi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("state.json").path
        var config = TestConfigs.oauth(tokenURL: "\(mock.baseURL)/api/oauth/token")
        if let signIn { config.signIn = signIn }
        config.stateFile = StateFileConfig(path: path, key: nil)
        let frozen = config
        let make: @Sendable (CapturedLogs) -> TokenManager = { logs in
            TokenManager(
                config: frozen, transport: CurlTokenTransport(worker: worker, timeouts: .defaults),
                logger: logs.logger(), loginCommand: "covata-proxy login --config test.json")
        }
        defer {
            worker.shutdown()
            try? FileManager.default.removeItem(at: folder)
        }
        do {
            try await body(mock, path, make)
        } catch {
            await mock.stop()
            throw error
        }
        await mock.stop()
    }

    static func totalTokenRequests(_ mock: CovataMockServer) -> Int {
        ["password", "refresh_token", "authorization_code"].map { mock.state.tokenRequests(grant: $0) }.reduce(0, +)
    }

    static let codeGrant = OAuthSignIn.authorizationCode(
        AuthorizationCodeConfig(
            authorizeURL: try! EndpointURL(parsing: "http://127.0.0.1:9/authorize"),
            redirectURI: RedirectURI("https://x.example/cb")!, pkce: true)
    )

    @Test func restartWithinTheTokenLifetimeMakesNoTokenRequest() async throws {
        try await Self.withStateFile { mock, _, make in
            let first = make(CapturedLogs())
            await first.start()
            let token = try await first.token()
            await first.stop()
            #expect(Self.totalTokenRequests(mock) == 1)

            let logs = CapturedLogs()
            let restarted = make(logs)
            await restarted.start()
            let restored = try await restarted.token()
            await restarted.stop()
            #expect(restored.value == token.value)
            #expect(Self.totalTokenRequests(mock) == 1)
            #expect(!logs.text.contains(token.value.value))
        }
    }

    /// The file holds the token renewed last, and under the password grant no refresh token at all: a restart
    /// takes the renewed token without asking, and nothing in the file is a login that outlives the access token.
    @Test func renewedTokenIsPersistedWithoutARefreshToken() async throws {
        try await Self.withStateFile { mock, _, make in
            let first = make(CapturedLogs())
            let token = try await first.token()
            await first.invalidate(token, resource: "/api/v1/x")
            let renewed = try await first.token()
            await first.stop()  // As a restart would: the last write lands first.
            #expect(mock.state.tokenRequests(grant: "password") == 2)

            let restarted = make(CapturedLogs())
            await restarted.start()
            #expect(try await restarted.token().value == renewed.value)
            #expect(await !restarted.status().hasRefreshToken)
            await restarted.stop()
            #expect(Self.totalTokenRequests(mock) == 2)
            #expect(mock.state.tokenRequests(grant: "refresh_token") == 0)
        }
    }

    @Test(arguments: ["garbage", "foreign"])
    func unusableStateFileMeansAFreshLogin(kind: String) async throws {
        try await Self.withStateFile { mock, path, make in
            if kind == "garbage" {
                try "{\"format\": 12".write(toFile: path, atomically: false, encoding: .utf8)
            } else {
                var foreign = TokenStateFileTests.sample()
                foreign.tokenURL = "\(mock.baseURL)/api/oauth/token"
                foreign.clientID = "someOtherClient"
                #expect(TokenStateFile(StateFileConfig(path: path, key: nil)).save(foreign) == nil)
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            let logs = CapturedLogs()
            let tokens = make(logs)
            await tokens.start()
            _ = try await tokens.token()
            await tokens.stop()  // Returns once the state file is written.
            #expect(mock.state.tokenRequests(grant: "password") == 1)
            #expect(logs.text.contains("token state file ignored"))
            guard case .state(let rewritten) = TokenStateFile(StateFileConfig(path: path, key: nil)).load() else {
                Issue.record("the state file was not rewritten")
                return
            }
            #expect(rewritten.clientID == "exampleClientApplication")
        }
    }

    @Test func codeGrantWithoutStoredTokenNeedsSignInAndAsksNothing() async throws {
        try await Self.withStateFile(signIn: Self.codeGrant) { mock, _, make in
            let tokens = make(CapturedLogs())
            let error = await #expect(throws: TokenError.self) { try await tokens.token() }
            #expect(error == .signInRequired(command: "covata-proxy login --config test.json"))
            #expect(await tokens.status().signInRequired)
            #expect(Self.totalTokenRequests(mock) == 0)
        }
    }

    /// A refused refresh token under the code grant: one token request, then none (no loop), until a new sign-in
    /// lands in the state file, which the running manager picks up by itself.
    @Test func rejectedRefreshTokenWaitsForANewSignIn() async throws {
        try await Self.withStateFile(signIn: Self.codeGrant) { mock, _, make in
            // Sign in as `covata-proxy login` would, then lose the refresh token at Covata.
            let signer = make(CapturedLogs())
            let request = AuthorizationRequest(config: await signer.config, settings: Self.codeSettings)
            let code = try await Self.authorize(request, mock: mock)
            guard case .success = await signer.completeSignIn(code: code, request: request) else {
                Issue.record("sign-in failed")
                return
            }
            mock.state.revokeAll(includingRefreshTokens: true)

            let tokens = make(CapturedLogs())
            await tokens.start()
            let restored = try await tokens.token()
            await tokens.invalidate(restored, resource: "/api/v1/x")
            await #expect(throws: TokenError.self) { try await tokens.token() }
            try await Task.sleep(for: .seconds(1))
            #expect(mock.state.tokenRequests(grant: "refresh_token") == 1)
            #expect(await tokens.status().signInRequired)

            let code2 = try await Self.authorize(request, mock: mock)
            _ = await signer.completeSignIn(code: code2, request: request)
            #expect(await eventually { await tokens.status().hasValidToken })
            await tokens.stop()
            #expect(mock.state.tokenRequests(grant: "refresh_token") == 1)
        }
    }

    static var codeSettings: AuthorizationCodeConfig {
        guard case .authorizationCode(let settings) = codeGrant else { fatalError("code grant expected") }
        return settings
    }

    /// Plays the browser: asks the mock's authorize endpoint and takes the code from the redirect.
    static func authorize(_ request: AuthorizationRequest, mock: CovataMockServer) async throws -> String {
        let url = request.url.replacingOccurrences(
            of: "http://127.0.0.1:9/authorize", with: "\(mock.baseURL)/api/oauth/authorize")
        let location = try await Shell.run("curl -s -o /dev/null -w '%{redirect_url}' '\(url)'")
        let response = try #require(AuthorizationResponse(pasted: location))
        #expect(response.problem(for: request) == nil)
        return try #require(response.code)
    }
}
