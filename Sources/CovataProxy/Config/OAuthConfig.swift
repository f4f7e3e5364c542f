/// How to obtain tokens from Covata's token endpoint.
public struct OAuthConfig: Sendable, Equatable {
    public var tokenURL: String
    public var clientID: String
    public var clientSecret: Secret
    /// Which grant signs in: the password grant, or a refresh token from `covata-proxy login`.
    public var signIn: OAuthSignIn
    public var scope: String?
    /// Where the refresh token (and the current access token) survive restarts, if anywhere.
    public var stateFile: StateFileConfig?
    /// Refresh this long before expiry (bounded by a fraction of the token's lifetime).
    public var refreshAheadSeconds: Double
    /// Lifetime assumed when the answer has neither `expires_in` nor a JWT `exp`.
    public var defaultLifetimeSeconds: Double
    /// After Covata rejects the credentials, wait this long before trying them again (protects the account).
    public var rejectedRetrySeconds: Double
    /// Exponential backoff for transient token-endpoint failures: first delay and cap.
    public var retryInitialSeconds: Double
    public var retryMaxSeconds: Double
    /// A token obtained because the upstream refused the previous one is not retired by another refusal sooner than
    /// this, so a path that always answers 401 cannot turn requests into logins.
    public var minRenewalIntervalSeconds: Double = 30
}
