/// Why a token operation failed, in the terms the lifecycle acts on.
enum TokenFailure: Error, Sendable, Equatable {
    /// The grant was refused (`invalid_grant`, or a 401 on refresh): for a refresh token, fall back to password.
    case grantRejected(error: String)
    /// The client or the credentials as a whole were refused: never retry in a loop (account lockout).
    case credentialsRejected(error: String)
    /// The code grant has no usable refresh token: only an operator running `covata-proxy login` can help.
    case signInRequired(reason: String)
    /// Unreachable, slow, 5xx or garbage: retry with backoff.
    case transient(reason: String)

    /// A short, secret-free reason for logs, `/status` and 503 bodies.
    var reason: String {
        switch self {
        case .grantRejected(let error): "token endpoint rejected the grant (\(error))"
        case .credentialsRejected(let error): "Covata rejected the configured credentials (\(error))"
        case .signInRequired(let reason): "sign-in required: \(reason)"
        case .transient(let reason): reason
        }
    }
}
