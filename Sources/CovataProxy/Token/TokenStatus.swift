/// A snapshot of the token lifecycle, for readiness, `/status` and the `token` command. Holds no secret.
public struct TokenStatus: Sendable {
    public var hasValidToken: Bool
    public var jti: String?
    public var scope: String?
    public var secondsToExpiry: Double?
    public var credentialsRejected: Bool
    public var lastError: String?
}
