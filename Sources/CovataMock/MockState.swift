import Foundation
import Synchronization

/// Everything covata-mock remembers: issued tokens, counters and the fault switch. Shared by all connections.
public final class MockState: Sendable {
    struct Data {
        var settings: MockSettings
        var tokens: MockTokenStore
        var codes: [String: MockAuthorizationCode] = [:]
        var tokenRequests: [String: Int] = [:]  // by grant_type
        var apiRequests = 0
        var fault = MockFault.none
        var serial = 0
        var activeDownloads = 0
        var connections = 0
    }

    let data: Mutex<Data>
    private let signingKey: [UInt8] = Array(UUID().uuidString.utf8)

    public init(settings: MockSettings) {
        let tokens = MockTokenStore(
            kind: settings.tokenStore, accessLifetime: settings.tokenLifetimeSeconds,
            refreshLifetime: settings.refreshTokenLifetimeSeconds, issuesRefreshTokens: settings.issueRefreshTokens)
        data = Mutex(Data(settings: settings, tokens: tokens))
    }

    public var settings: MockSettings { data.withLock { $0.settings } }

    /// Token requests seen, by grant type.
    public func tokenRequests(grant: String) -> Int { data.withLock { $0.tokenRequests[grant] ?? 0 } }

    public var apiRequests: Int { data.withLock { $0.apiRequests } }

    /// Downloads still being written; drops when one finishes or its client goes away.
    public var activeDownloads: Int { data.withLock { $0.activeDownloads } }

    /// TCP connections accepted, to check that clients reuse connections.
    public var connections: Int { data.withLock { $0.connections } }

    func downloadStarted() { data.withLock { $0.activeDownloads += 1 } }
    func downloadEnded() { data.withLock { $0.activeDownloads -= 1 } }
    func connectionAccepted() { data.withLock { $0.connections += 1 } }

    /// Every access and refresh token issued so far, so tests can prove none of them was ever printed.
    public var issuedTokens: [String] { data.withLock { $0.tokens.issued } }

    /// Tokens minted, password grants answered with the current token, access tokens a refresh removed, and
    /// resource calls refused for their token.
    public var tokenCounters: MockTokenStore.Counters { data.withLock { $0.tokens.counters } }

    public func setFault(_ fault: MockFault) { data.withLock { $0.fault = fault } }

    public func setTokenLifetime(_ seconds: Double) {
        data.withLock {
            $0.settings.tokenLifetimeSeconds = seconds
            $0.tokens.accessLifetime = seconds
        }
    }

    public func setPassword(_ password: String) { data.withLock { $0.settings.password = password } }

    /// Invalidates every access token (and, if asked, every refresh token), as an administrator revoking the
    /// account's sessions would.
    public func revokeAll(includingRefreshTokens: Bool = false) {
        data.withLock { $0.tokens.revokeAll(includingRefreshTokens: includingRefreshTokens) }
    }

    /// `PUT /api/v1/users/me/expire` for `username`.
    func signOutEverywhere(username: String) {
        data.withLock { $0.tokens.signOutEverywhere(username: username) }
    }

    /// What a bearer token may do; counts the API call.
    func check(accessToken: String) -> MockTokenStore.Check {
        let now = Date().timeIntervalSince1970
        return data.withLock { state in
            state.apiRequests += 1
            return state.tokens.check(accessToken, now: now)
        }
    }

    /// The user an access token was issued to, if it is known.
    func username(of accessToken: String) -> String? {
        data.withLock { $0.tokens.access[accessToken]?.username }
    }

    /// A password or authorization-code grant for the configured account.
    func signIn(scope: String) -> MockTokenStore.Issued {
        let now = Date().timeIntervalSince1970
        return data.withLock { state in
            var minter = Minter(state, key: signingKey)
            defer { state.serial = minter.serial }
            return state.tokens.signIn(
                client: state.settings.clientID, username: state.settings.username, scope: scope, now: now,
                mint: { minter.mint(scope: $0, expiresAt: $1) })
        }
    }

    func refresh(_ refreshToken: String) -> MockTokenStore.Refreshed {
        let now = Date().timeIntervalSince1970
        return data.withLock { state in
            var minter = Minter(state, key: signingKey)
            defer { state.serial = minter.serial }
            return state.tokens.refresh(refreshToken, now: now, mint: { minter.mint(scope: $0, expiresAt: $1) })
        }
    }

    /// A fresh authorization code: six characters, as Spring's RandomValueStringGenerator makes them.
    func issueCode(_ pending: MockAuthorizationCode) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        let code = String((0..<6).map { _ in alphabet.randomElement()! })
        data.withLock { $0.codes[code] = pending }
        return code
    }

    /// Spends a code: valid once, and only before it expires.
    func redeem(code: String) -> MockAuthorizationCode? {
        guard let pending = data.withLock({ $0.codes.removeValue(forKey: code) }) else { return nil }
        return pending.expiresAt > Date().timeIntervalSince1970 ? pending : nil
    }

    func countTokenRequest(grant: String) -> MockFault {
        data.withLock { state in
            state.tokenRequests[grant, default: 0] += 1
            return state.fault
        }
    }
}

/// Signs JWT access tokens as Spring's `JwtAccessTokenConverter` makes them, numbering them as it goes.
private struct Minter {
    var serial: Int
    let username: String
    let clientID: String
    let key: [UInt8]

    init(_ state: MockState.Data, key: [UInt8]) {
        serial = state.serial
        username = state.settings.username
        clientID = state.settings.clientID
        self.key = key
    }

    mutating func mint(scope: String, expiresAt: Double) -> (token: String, jti: String) {
        serial += 1
        let jti = UUID().uuidString.lowercased()
        let claims: [String: Any] = [
            "exp": Int(expiresAt), "user_name": username, "client_id": clientID, "jti": jti, "scope": [scope],
            "serial": serial,
        ]
        return (JWT.sign(claims: claims, key: key), jti)
    }
}

/// A failure the token endpoint can be told to produce, for tests and trials.
public enum MockFault: Sendable, Equatable {
    case none
    /// Answer with this status and a Spring-style error body.
    case status(Int)
    /// Answer 200 with a body that is not JSON.
    case garbage
    /// Answer 200 with JSON cut in the middle.
    case truncated
    /// Accept the request and never answer.
    case hang
    /// Answer normally after this many seconds.
    case delay(Double)
    /// Answer 200 with this token_type instead of bearer.
    case tokenType(String)
}
