/// Which grant a token request uses. The refresh token is a secret and never prints.
enum TokenGrant: Sendable, CustomStringConvertible {
    case password
    case refreshToken(Secret)

    /// The `grant_type` value, also used in logs.
    var description: String {
        switch self {
        case .password: "password"
        case .refreshToken: "refresh_token"
        }
    }
}
