import Foundation
import Synchronization

/// Everything covata-mock remembers: issued tokens, counters and the fault switch. Shared by all connections.
public final class MockState: Sendable {
    struct Data {
        var settings: MockSettings
        var accessTokens: [String: Double] = [:]  // token → expiry (Unix time)
        var refreshTokens: Set<String> = []
        var codes: [String: MockAuthorizationCode] = [:]
        var tokenRequests: [String: Int] = [:]  // by grant_type
        var apiRequests = 0
        var fault = MockFault.none
        var serial = 0
        var issued: [String] = []
        var activeDownloads = 0
        var connections = 0
    }

    let data: Mutex<Data>
    private let signingKey: [UInt8] = Array(UUID().uuidString.utf8)

    public init(settings: MockSettings) {
        data = Mutex(Data(settings: settings))
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
    public var issuedTokens: [String] { data.withLock { $0.issued } }

    public func setFault(_ fault: MockFault) { data.withLock { $0.fault = fault } }

    public func setTokenLifetime(_ seconds: Double) { data.withLock { $0.settings.tokenLifetimeSeconds = seconds } }

    public func setPassword(_ password: String) { data.withLock { $0.settings.password = password } }

    /// Invalidates every access token (and, if asked, every refresh token), as Covata's users/me/expire does.
    public func revokeAll(includingRefreshTokens: Bool = false) {
        data.withLock { state in
            state.accessTokens.removeAll()
            if includingRefreshTokens { state.refreshTokens.removeAll() }
        }
    }

    /// Whether a bearer token is known and unexpired.
    func isValid(accessToken: String) -> Bool {
        let now = Date().timeIntervalSince1970
        return data.withLock { state in
            state.apiRequests += 1
            return (state.accessTokens[accessToken] ?? 0) > now
        }
    }

    /// Issues a signed JWT access token and, when enabled, a fresh refresh token (rotation).
    func issueTokens(scope: String) -> (access: String, refresh: String?, jti: String, lifetime: Double) {
        let now = Date().timeIntervalSince1970
        let (serial, lifetime, username, clientID, rotate) = data.withLock { state in
            state.serial += 1
            return (
                state.serial, state.settings.tokenLifetimeSeconds, state.settings.username, state.settings.clientID,
                state.settings.issueRefreshTokens
            )
        }
        let jti = UUID().uuidString.lowercased()
        let claims: [String: Any] = [
            "exp": Int(now + lifetime), "user_name": username, "client_id": clientID, "jti": jti, "scope": [scope],
            "serial": serial,
        ]
        let access = JWT.sign(claims: claims, key: signingKey)
        let refresh = rotate ? "rt-\(UUID().uuidString.lowercased())" : nil
        data.withLock { state in
            state.accessTokens[access] = now + lifetime
            state.issued.append(access)
            if let refresh {
                state.refreshTokens.insert(refresh)
                state.issued.append(refresh)
            }
        }
        return (access, refresh, jti, lifetime)
    }

    /// Spends a refresh token: it is valid once, since every refresh rotates it.
    func redeem(refreshToken: String) -> Bool {
        data.withLock { state in state.refreshTokens.remove(refreshToken) != nil }
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
