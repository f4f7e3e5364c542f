/// A snapshot of the token lifecycle, for readiness, `/status` and the `token` command. Holds no secret.
public struct TokenStatus: Sendable {
    public var hasValidToken: Bool
    public var jti: String?
    public var scope: String?
    public var secondsToExpiry: Double?
    public var credentialsRejected: Bool
    /// The code grant lost its refresh token: `signInCommand` tells the operator what to run.
    public var signInRequired: Bool
    public var signInCommand: String
    /// Whether a refresh token is held (so a restart or a refresh needs no login).
    public var hasRefreshToken: Bool
    public var lastError: String?
    /// Unix times: when the valid token expires, and when a token operation last succeeded.
    public var expiresAt: Double?
    public var lastSuccessAt: Double?
}
