/// How to obtain tokens from Covata's token endpoint.
public struct OAuthConfig: Sendable, Equatable {
    public var tokenURL: String
    public var clientID: String
    public var clientSecret: Secret
    public var username: String
    public var password: Secret
    public var scope: String?
    /// Refresh this long before expiry (bounded by a fraction of the token's lifetime).
    public var refreshAheadSeconds: Double
    /// Lifetime assumed when the answer has neither `expires_in` nor a JWT `exp`.
    public var defaultLifetimeSeconds: Double
    /// After Covata rejects the credentials, wait this long before trying them again (protects the account).
    public var rejectedRetrySeconds: Double
    /// Exponential backoff for transient token-endpoint failures: first delay and cap.
    public var retryInitialSeconds: Double
    public var retryMaxSeconds: Double
}
