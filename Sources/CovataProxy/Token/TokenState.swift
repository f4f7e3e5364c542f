import ProxyConfiguration
/// What survives a restart: the refresh token and the current access token, with whose they are. Coded as the
/// state file's JSON; holds secrets, so it prints nothing but its jti.
struct TokenState: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Whose tokens these are: a state file written for another endpoint, client or account is not used.
    var tokenURL: String
    var clientID: String
    /// The password grant's account; nil when an operator signed in with `covata-proxy login`.
    var username: String?
    var refreshToken: Secret?
    var accessToken: Secret?
    /// Unix time the access token expires, and its full lifetime (for the refresh-ahead margin).
    var accessTokenExpiresAt: Double?
    var accessTokenLifetime: Double?
    var jti: String?
    var scope: String?

    var description: String { "token state jti=\(jti ?? "-")" }

    /// Why this state does not belong to `config`, or nil when it does.
    func mismatch(with config: OAuthConfig) -> String? {
        if tokenURL != config.tokenURL.text { return "it was written for another token endpoint" }
        if clientID != config.clientID { return "it was written for another client ID" }
        if case .password(let configured, _) = config.signIn, let username, username != configured {
            return "it was written for another user"
        }
        return nil
    }
}
