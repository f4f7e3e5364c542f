import ProxyConfiguration
/// Which grant a token request uses. Its secrets never print.
enum TokenGrant: Sendable, Equatable, CustomStringConvertible {
    case password(username: String, password: Secret)
    case refreshToken(Secret)
    /// RFC 6749 §4.1.3, with the RFC 7636 verifier when the authorize request carried a challenge.
    case authorizationCode(code: Secret, redirectURI: String, codeVerifier: Secret?)

    /// The `grant_type` value, also used in logs and metrics.
    var description: String {
        switch self {
        case .password: "password"
        case .refreshToken: "refresh_token"
        case .authorizationCode: "authorization_code"
        }
    }

    var sendsScope: Bool {
        if case .authorizationCode = self { return false }
        return true
    }
}
