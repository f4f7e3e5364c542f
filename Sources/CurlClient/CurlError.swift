/// Why an upstream transfer failed, reduced to what callers act on.
public struct CurlError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// DNS, TCP connect, or the egress proxy refused.
        case couldNotConnect
        /// A configured timeout expired.
        case timedOut
        /// TLS handshake or certificate verification failed.
        case tls
        /// The connection broke while sending or receiving.
        case connectionBroken
        /// The caller cancelled the transfer.
        case cancelled
        /// The worker is shut down and takes no more transfers.
        case shutDown
        /// The upstream's answer was malformed or ambiguous and was discarded (RFC 9112 §6.3).
        case badResponse
        /// Anything else libcurl reported.
        case other
    }

    public var kind: Kind
    /// libcurl's numeric code, for logs.
    public var code: Int
    /// libcurl's fixed description of the code (never request data, so never a secret).
    public var message: String

    public init(kind: Kind, code: Int, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String { "curl error \(code): \(message)" }
}
