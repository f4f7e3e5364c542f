import Foundation

/// How covata-mock's token endpoint keeps the tokens it issues.
public enum MockTokenStoreKind: String, Sendable, CaseIterable {
    /// Every grant mints a fresh, independent token and every refresh rotates the refresh token: the easiest server
    /// to be a client of, and the default.
    case independent
    /// Spring Security OAuth2's `DefaultTokenServices` over a token store, as Covata runs it: one access token per
    /// (client, user, scope); a password grant before that token expires answers with the same token; a refresh
    /// removes every access token issued with that refresh token; refresh tokens are reused.
    case spring
}

/// The tokens covata-mock has issued and what became of them, as a value (`MockState` holds it under its lock).
public struct MockTokenStore: Sendable {
    struct Access {
        var refresh: String?
        /// Spring's refresh token object carries its own expiry with the access token.
        var refreshExpiresAt: Double
        var username: String
        var expiresAt: Double
        /// Spring's authentication key: client, user and scope.
        var key: String
        var jti: String
        var scope: String
    }

    struct Refresh {
        var expiresAt: Double
        var username: String
        var key: String
        var scope: String
    }

    /// What one grant hands out.
    struct Issued {
        var access: String
        var refresh: String?
        /// Whole seconds left, truncated, as Spring's `getExpiresIn()` counts them.
        var expiresIn: Int
        var jti: String
        var scope: String
    }

    enum Refreshed {
        case issued(Issued)
        /// 400 `invalid_grant` "Invalid refresh token: …".
        case unknown
        /// 401 `invalid_token` "Invalid refresh token (expired): …".
        case expired
    }

    enum Check {
        case valid
        /// 401 "Invalid access token: …" (never issued, revoked, or removed by a refresh).
        case unknown
        /// 401 "Access token expired: …".
        case expired
    }

    /// What the tests read back (also through `/__mock/stats`).
    public struct Counters: Sendable {
        public var minted = 0
        /// Password (or code) grants answered with the token already issued.
        public var currentTokenReturned = 0
        /// Access tokens a refresh removed.
        public var removedByRefresh = 0
        /// API calls refused for their token.
        public var resourceRefusals = 0
    }

    /// Makes a signed access token; returns it with its jti.
    typealias Mint = (_ scope: String, _ expiresAt: Double) -> (token: String, jti: String)

    var kind: MockTokenStoreKind
    var accessLifetime: Double
    var refreshLifetime: Double
    /// Whether grants come with a refresh token (the client application has the refresh_token grant type).
    var issuesRefreshTokens: Bool
    private(set) var access: [String: Access] = [:]
    private(set) var refresh: [String: Refresh] = [:]
    /// Spring's one access token per authentication key.
    private var current: [String: String] = [:]
    private(set) var counters = Counters()
    /// Every token handed out, so tests can prove none was ever printed.
    private(set) var issued: [String] = []

    init(kind: MockTokenStoreKind, accessLifetime: Double, refreshLifetime: Double, issuesRefreshTokens: Bool) {
        self.kind = kind
        self.accessLifetime = accessLifetime
        self.refreshLifetime = refreshLifetime
        self.issuesRefreshTokens = issuesRefreshTokens
    }

    // MARK: - Grants

    /// A password or authorization-code grant for `username` (Spring's `createAccessToken(authentication)`).
    mutating func signIn(client: String, username: String, scope: String, now: Double, mint: Mint) -> Issued {
        let key = "\(client)|\(username)|\(scope)"
        var keptRefresh: (value: String, expiresAt: Double)?
        if kind == .spring, let value = current[key], let existing = access[value] {
            guard existing.expiresAt <= now else {
                counters.currentTokenReturned += 1
                return answer(value, existing, now: now)
            }
            // Expired: removed, and its refresh token carried over while that has not expired itself. Spring
            // removes that refresh token and stores it again, so one a sign-out removed comes back here too.
            remove(value)
            if let old = existing.refresh, existing.refreshExpiresAt > now {
                keptRefresh = (old, existing.refreshExpiresAt)
                refresh[old] = Refresh(
                    expiresAt: existing.refreshExpiresAt, username: username, key: key, scope: scope)
            }
        }
        let refreshToken = keptRefresh ?? newRefresh(username: username, key: key, scope: scope, now: now)
        return store(key: key, username: username, refresh: refreshToken, scope: scope, now: now, mint: mint)
    }

    /// A refresh token grant (Spring's `refreshAccessToken`, or a rotating server's).
    mutating func refresh(_ value: String, now: Double, mint: Mint) -> Refreshed {
        guard let found = refresh[value] else { return .unknown }
        switch kind {
        case .independent:
            refresh[value] = nil
            let rotated = newRefresh(username: found.username, key: found.key, scope: found.scope, now: now)
            return .issued(
                store(
                    key: found.key, username: found.username, refresh: rotated, scope: found.scope, now: now,
                    mint: mint))
        case .spring:
            // Every access token issued with this refresh token goes, at once: resource calls with them now get 401.
            for (token, record) in access where record.refresh == value {
                remove(token)
                counters.removedByRefresh += 1
            }
            guard found.expiresAt > now else {
                refresh[value] = nil
                return .expired
            }
            return .issued(
                store(
                    key: found.key, username: found.username, refresh: (value, found.expiresAt), scope: found.scope,
                    now: now, mint: mint))
        }
    }

    // MARK: - Revocation and resource checks

    /// `PUT /api/v1/users/me/expire`: every refresh token of the user goes; access tokens live until they expire.
    mutating func signOutEverywhere(username: String) {
        refresh = refresh.filter { $0.value.username != username }
    }

    /// The test switch: every access token (and, if asked, every refresh token) is removed, as an administrator
    /// revoking the account's sessions would.
    mutating func revokeAll(includingRefreshTokens: Bool) {
        access.removeAll()
        current.removeAll()
        if includingRefreshTokens { refresh.removeAll() }
    }

    /// Whether a bearer token may call the API; Spring removes an expired one as it refuses it.
    mutating func check(_ token: String, now: Double) -> Check {
        guard let record = access[token] else {
            counters.resourceRefusals += 1
            return .unknown
        }
        guard record.expiresAt > now else {
            counters.resourceRefusals += 1
            if kind == .spring {
                remove(token)
                return .expired
            }
            return .unknown
        }
        return .valid
    }

    // MARK: - Storing

    private mutating func newRefresh(
        username: String, key: String, scope: String, now: Double
    ) -> (value: String, expiresAt: Double)? {
        guard issuesRefreshTokens else { return nil }
        let value = "rt-\(UUID().uuidString.lowercased())"
        let expiresAt = now + refreshLifetime
        refresh[value] = Refresh(expiresAt: expiresAt, username: username, key: key, scope: scope)
        issued.append(value)
        return (value, expiresAt)
    }

    private mutating func store(
        key: String, username: String, refresh: (value: String, expiresAt: Double)?, scope: String, now: Double,
        mint: Mint
    ) -> Issued {
        let expiresAt = now + accessLifetime
        let (token, jti) = mint(scope, expiresAt)
        let record = Access(
            refresh: refresh?.value, refreshExpiresAt: refresh?.expiresAt ?? 0, username: username,
            expiresAt: expiresAt, key: key, jti: jti, scope: scope)
        access[token] = record
        if kind == .spring { current[key] = token }
        counters.minted += 1
        issued.append(token)
        // Spring counts expires_in when it writes the answer, a moment after minting: a 10 s token says 9.
        var answered = answer(token, record, now: now)
        answered.expiresIn = max(0, Int(accessLifetime) - 1)
        return answered
    }

    private func answer(_ token: String, _ record: Access, now: Double) -> Issued {
        Issued(
            access: token, refresh: record.refresh, expiresIn: max(0, Int(record.expiresAt - now)), jti: record.jti,
            scope: record.scope)
    }

    private mutating func remove(_ token: String) {
        guard let record = access.removeValue(forKey: token) else { return }
        if current[record.key] == token { current[record.key] = nil }
    }
}
