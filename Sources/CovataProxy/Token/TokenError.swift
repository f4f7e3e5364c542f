/// Why no token can be handed out right now. Becomes a 503 with Retry-After.
public enum TokenError: Error, Sendable, Equatable {
    /// Covata rejected the configured credentials; the proxy waits before trying them again.
    case credentialsRejected(retryAfterSeconds: Int)
    /// No usable refresh token under the code grant; an operator must run `command`.
    case signInRequired(command: String)
    /// The token endpoint failed; a retry is scheduled.
    case unavailable(reason: String, retryAfterSeconds: Int)
}
