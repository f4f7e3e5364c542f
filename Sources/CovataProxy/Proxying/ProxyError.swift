import CurlClient

/// Everything that stops a request from being forwarded. Turned into an HTTP answer in one place
/// (`ProxyError+Response.swift`), never with internal details or secrets.
enum ProxyError: Error, Sendable {
    case tokenUnavailable(TokenError)
    case upstreamUnreachable
    case upstreamTimedOut
    /// The upstream answered with a head we must not pass on.
    case upstreamBadResponse
    case connectNotSupported
    case methodNotAllowed(String)
    /// The route's `allowMethods` does not list the method.
    case methodNotAllowedHere(allowed: [String])
    case badRequest(String)
    case forbiddenHost(allowed: [String])
    /// The Host header names something other than this listener (DNS rebinding, a stray request).
    case misdirected(host: String)
    /// The caller failed one of the route's access checks; `code` says which.
    case callerRefused(code: String, message: String)
    case payloadTooLarge
    /// An `Expect` other than 100-continue.
    case expectationFailed
    case notImplemented(String)
    case requestTimeout
    case shuttingDown
    /// More requests in flight than `limits.maxConcurrentRequests`.
    case overloaded

    /// Maps a failed transfer that produced no response head.
    init(_ error: CurlError) {
        switch error.kind {
        case .timedOut: self = .upstreamTimedOut
        case .shutDown: self = .shuttingDown
        case .badResponse: self = .upstreamBadResponse
        default: self = .upstreamUnreachable
        }
    }
}
