/// The grant that signs the proxy in when it has no usable refresh token.
public enum OAuthSignIn: Sendable, Equatable {
    /// `grant_type=password` with a service account's credentials (RFC 6749 §4.3).
    case password(username: String, password: Secret)
    /// No password at rest: an operator signs in once with `covata-proxy login` (RFC 6749 §4.1) and the proxy
    /// lives on the refresh token it stored.
    case authorizationCode(AuthorizationCodeConfig)

    /// The `oauth.grant` value.
    public var grantName: String {
        switch self {
        case .password: "password"
        case .authorizationCode: "authorization_code"
        }
    }
}
