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

    public var expiresAt: Double { obtainedAt + lifetime }

    public var description: String { "access token jti=\(jti ?? "-") scope=\(scope ?? "-")" }
}
