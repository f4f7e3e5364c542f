import CurlClient

/// Everything that stops a request from being forwarded. Turned into an HTTP answer in one place
/// (`ProxyError+Response.swift`), never with internal details or secrets.
enum ProxyError: Error, Sendable {
    case tokenUnavailable(TokenError)
    case upstreamUnreachable
    case upstreamTimedOut
    case connectNotSupported
    case methodNotAllowed(String)
    case badRequest(String)
    case forbiddenHost(allowed: [String])
    case payloadTooLarge
    case notImplemented(String)
    case requestTimeout
    case shuttingDown

    /// Maps a failed transfer that produced no response head.
    init(_ error: CurlError) {
        switch error.kind {
        case .timedOut: self = .upstreamTimedOut
        case .shutDown: self = .shuttingDown
        default: self = .upstreamUnreachable
        }
    }
}
