import CovataMock
import CurlClient
import Foundation
import Testing

@testable import CovataProxy
@testable import ProxyConfiguration

/// The token promise at its edges, through the real binary and covata-mock: a usable token again the moment the
/// cause clears, renewals a 401 can cause bounded, and a state file that is never trusted blindly.
@Suite struct TokenRecoveryTests {
    static let admin = #", "admin": { "listen": "127.0.0.1:0" }"#
    /// Fast backoff, so the schedule (not a client) is what brings the token back within the test's patience.
    static let fastRetry = #", "retryInitialSeconds": 0.2, "retryMaxSeconds": 1"#

    static func adminPort(in printed: String) -> Int? {
        for line in printed.split(separator: "\n") where line.contains("admin listening") {
            guard let range = line.range(of: #""address":"127.0.0.1:"#) else { continue }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        return nil
    }

    static func ready(_ proxy: ProductBinary.Running) async -> Int {
        guard let port = adminPort(in: proxy.printed) else { return 0 }
        return (try? await RawHTTPClient.get(port: port, "/readyz").status) ?? 0
    }

    static func tokenRequests(_ mock: CovataMockServer) -> Int {
        ["password", "refresh_token"].map { mock.state.tokenRequests(grant: $0) }.reduce(0, +)
    }

    /// Revoked while the endpoint is down: the 503 is right, and the background schedule (not the next client)
    /// brings the token back once the endpoint recovers.
    @Test func revokedWhileTheEndpointIsDownRecoversByItself() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try CommandLineTests.writeConfig(mockPort: mock.port, extra: Self.fastRetry)
        try rewrite(config, adding: Self.admin)
        try await ProductBinary.withProxy(config: config, environment: CommandLineTests.secretEnvironment) {
            (proxy: ProductBinary.Running, port: Int) async throws in
            #expect(await eventually { await Self.ready(proxy) == 200 })
            mock.state.revokeAll(includingRefreshTokens: false)
            mock.state.setFault(.status(503))
            #expect(try await RawHTTPClient.get(port: port, "/api/v1/x").status == 503)
            mock.state.setFault(.none)
            // No client sends anything now: readiness must come back from the retry schedule alone.
            #expect(await eventually(timeoutSeconds: 10) { await Self.ready(proxy) == 200 }, "\(proxy.printed)")
        }
    }

    /// Wrong password, fixed in the secret file, SIGHUP: the pause ends and the new password is tried at once.
    @Test func correctedPasswordIsTriedAtOnceOnReload() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try CommandLineTests.writeConfig(mockPort: mock.port, password: "wrong")
        try rewrite(config, adding: Self.admin)
        try await ProductBinary.withProxy(config: config, environment: CommandLineTests.secretEnvironment) {
            (proxy: ProductBinary.Running, _: Int) async throws in
            #expect(await eventually { proxy.printed.contains("credentials rejected") })
            #expect(await Self.ready(proxy) == 503)
            let passwordFile = config.deletingLastPathComponent().appendingPathComponent("password")
            try "\(MockSettings().password)\n".write(to: passwordFile, atomically: true, encoding: .utf8)
            kill(proxy.pid, SIGHUP)
            #expect(await eventually { await Self.ready(proxy) == 200 })
            #expect(mock.state.tokenRequests(grant: "password") == 2)
        }
    }

    /// A path that always answers 401 invalid_token (issue #25, 3): relayed, at most 3 token requests for 20 such
    /// requests, other paths answered 200 all along with nothing relayed as 401; and bounded by evidence, not a
    /// clock: a real revocation moments later is still renewed and replayed.
    @Test(arguments: MockTokenStoreKind.allCases)
    func alwaysUnauthorizedPathCostsAFewRenewalsAtMost(store: MockTokenStoreKind) async throws {
        var settings = MockSettings()
        settings.tokenStore = store
        let mock = try await CovataMockServer(settings: settings)
        defer { Task { await mock.stop() } }
        let config = try CommandLineTests.writeConfig(mockPort: mock.port)
        try await ProductBinary.withProxy(config: config, environment: CommandLineTests.secretEnvironment) {
            (proxy: ProductBinary.Running, port: Int) async throws in
            #expect(await eventually { (try? await RawHTTPClient.get(port: port, "/api/v1/warm").status) == 200 })
            let before = Self.tokenRequests(mock)
            let header = "WWW-Authenticate:Bearer%20error%3D%22invalid_token%22"
            for n in 0..<20 {
                let answer = try await RawHTTPClient.get(port: port, "/api/v1/quirk?status=401&respondHeader=\(header)")
                #expect(answer.status == 401)
                #expect(try await RawHTTPClient.get(port: port, "/api/v1/fine?n=\(n)").status == 200)
            }
            #expect(Self.tokenRequests(mock) - before <= 3, "\(proxy.printed)")
            // The token really dies now: the next request is renewed and replayed, not answered 401.
            mock.state.revokeAll()
            #expect(try await RawHTTPClient.get(port: port, "/api/v1/fine?after=revocation").status == 200)
            #expect(proxy.printed.contains("replaying once"))
        }
    }

    /// A large POST answered 401 invalid_token cannot be replayed: it is relayed without the token in it, and the
    /// token is retired, so the next request gets a fresh one without a replay.
    @Test func unreplayableRejectionRetiresTheTokenAndHidesIt() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let config = try CommandLineTests.writeConfig(mockPort: mock.port)
        try rewrite(config, adding: #", "limits": { "replayBufferBytes": 1024 }"#)
        try await ProductBinary.withProxy(config: config, environment: CommandLineTests.secretEnvironment) {
            (proxy: ProductBinary.Running, port: Int) async throws in
            #expect(await eventually { (try? await RawHTTPClient.get(port: port, "/api/v1/warm").status) == 200 })
            let rejected = try #require(mock.state.issuedTokens.last)
            mock.state.revokeAll(includingRefreshTokens: false)
            let body = String(repeating: "x", count: 64 * 1024)
            let head = [
                "POST /api/v1/upload HTTP/1.1", "Host: 127.0.0.1:\(port)", "Content-Length: \(body.utf8.count)",
                "Connection: close", "", "",
            ].joined(separator: "\r\n")
            let answer = try ParsedResponse(try await RawHTTPClient.exchange(port: port, head + body))
            #expect(answer.status == 401)
            let text = String(decoding: answer.body, as: UTF8.self)
            #expect(answer.json["error"] as? String == "invalid_token")
            #expect(!text.contains(rejected), "the 401 body carries the token")
            #expect(!answer.headers.contains { $0.value.contains(rejected) }, "a 401 header carries the token")
            #expect(answer.header("Content-Length") == "\(answer.body.count)")
            // The next request carries a fresh token from the start: no 401, no replay.
            #expect(await eventually { (try? await RawHTTPClient.get(port: port, "/api/v1/next").status) == 200 })
            #expect(!proxy.printed.contains("replaying once"))
        }
    }

    /// A state file planted in a form the proxy would refuse at start is never adopted by the running proxy either:
    /// not as a symlink, not readable by others. Put right, it is.
    @Test func runningProxyChecksTheStateFileOnEveryRead() async throws {
        let mock = try await CovataMockServer()
        defer { Task { await mock.stop() } }
        let signIn = #""grant": "authorization_code", "stateFile": "state/token.json""#
        let config = try CommandLineTests.writeConfig(mockPort: mock.port, signIn: signIn)
        let folder = config.deletingLastPathComponent().appendingPathComponent("state")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder.path)
        try rewrite(config, adding: Self.admin)
        try await ProductBinary.withProxy(config: config, environment: CommandLineTests.secretEnvironment) {
            (proxy: ProductBinary.Running, _: Int) async throws in
            #expect(await eventually { proxy.printed.contains("sign-in required") })
            // A refresh token that Covata would accept, written where the proxy looks, first through a symlink.
            let refresh = try await Self.refreshToken(mock)
            let state = TokenState(
                tokenURL: "http://127.0.0.1:\(mock.port)/api/oauth/token", clientID: "exampleClientApplication",
                username: nil, refreshToken: Secret(refresh))
            let elsewhere = config.deletingLastPathComponent().appendingPathComponent("elsewhere.json").path
            #expect(TokenStateFile(StateFileConfig(path: elsewhere, key: nil)).save(state) == nil)
            let path = folder.appendingPathComponent("token.json").path
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: elsewhere)
            #expect(await eventually { proxy.printed.contains("not a regular file") })
            // Then as a file others can read.
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.copyItem(atPath: elsewhere, toPath: path)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
            #expect(await eventually { proxy.printed.contains("has mode 644") })
            #expect(mock.state.tokenRequests(grant: "refresh_token") == 0)
            #expect(await Self.ready(proxy) == 503)
            // Put right by the operator: adopted.
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            #expect(await eventually { await Self.ready(proxy) == 200 })
            #expect(!proxy.printed.contains(refresh))
        }
    }

    /// A state file folder others can write is refused at start, naming the key.
    @Test func stateFolderOthersCanWriteIsRefused() async throws {
        let signIn = #""grant": "authorization_code", "stateFile": "shared/token.json""#
        let config = try CommandLineTests.writeConfig(mockPort: 9, signIn: signIn)
        let folder = config.deletingLastPathComponent().appendingPathComponent("shared")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: folder.path)
        let (status, printed) = try await ProductBinary("covata-proxy").run(
            ["check-config", "--config", config.path], environment: CommandLineTests.secretEnvironment)
        #expect(status == 2)
        #expect(printed.contains("oauth.stateFile"))
        #expect(printed.contains("chmod go-w"))
    }

    /// A refresh token from covata-mock's password grant, as another client of the same account would hold.
    static func refreshToken(_ mock: CovataMockServer) async throws -> String {
        let basic = Data("exampleClientApplication:\(MockSettings().clientSecret)".utf8).base64EncodedString()
        let password = MockSettings().password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let json = try await Shell.run(
            "curl -s -H 'Authorization: Basic \(basic)' -d 'grant_type=password&username=svc-legacy%40example.com"
                + "&password=\(password)' http://127.0.0.1:\(mock.port)/api/oauth/token")
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return try #require(object?["refresh_token"] as? String)
    }

    /// Adds top-level members to a config written by `CommandLineTests.writeConfig`.
    func rewrite(_ config: URL, adding members: String) throws {
        var text = try String(contentsOf: config, encoding: .utf8)
        let end = try #require(text.range(of: "}", options: .backwards))
        text.replaceSubrange(end, with: members + "\n}")
        try text.write(to: config, atomically: true, encoding: .utf8)
    }
}
