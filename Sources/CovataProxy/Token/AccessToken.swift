import ProxyConfiguration
/// A bearer token with what we know about it. Printing it shows its jti, never its value.
public struct AccessToken: Sendable, Equatable, CustomStringConvertible {
    /// The bearer value to put in `Authorization`.
    public let value: Secret
    /// A refresh token that came with it, if any (Covata may rotate it on every refresh).
    let refreshToken: Secret?
    public let jti: String?
    public let scope: String?
    /// Seconds the token is valid for, from `expires_in`, the JWT `exp`, or the configured default.
    public let lifetime: Double
    /// When it was obtained, on the token clock.
    public let obtainedAt: Double
    /// The upstream resource this token was obtained for (its predecessor was refused there), until a request
    /// there succeeds with it: the forwarding handler reports that success, which ends the probation.
    var probation: String? = nil

    /// `Authorization`'s value, `Bearer` and the token (RFC 6750 §2.1): made once, not for every request.
    public let authorization: Secret

    public var expiresAt: Double { obtainedAt + lifetime }

    init(
        value: Secret, refreshToken: Secret?, jti: String?, scope: String?, lifetime: Double, obtainedAt: Double,
        probation: String? = nil
    ) {
        self.value = value
        self.refreshToken = refreshToken
        self.jti = jti
        self.scope = scope
        self.lifetime = lifetime
        self.obtainedAt = obtainedAt
        self.probation = probation
        authorization = Secret("Bearer " + value.value)
    }

    public var description: String { "access token jti=\(jti ?? "-") scope=\(scope ?? "-")" }
}
