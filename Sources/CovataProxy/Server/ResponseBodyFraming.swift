import NIOHTTP1

/// How the body of an answer is delimited for the client (RFC 9112 §6.3). curl has removed the upstream's own
/// framing by the time the body reaches us, so each answer is framed again for the client that asked.
enum ResponseBodyFraming: Equatable {
    /// No body, whatever the fields say: a HEAD answer, 1xx, 204 or 304 (rule 1).
    case none
    /// Content-Length is among the fields and the body is written as it is (rule 6).
    case length
    /// Chunked coding, added by the encoder: an HTTP/1.1 client and a body of unknown length (rule 4).
    case chunked
    /// The body ends when the connection closes: an HTTP/1.0 client, which cannot read chunked coding (RFC 9112
    /// §6.1 forbids sending it Transfer-Encoding), and a body of unknown length (rule 8).
    case untilClose

    /// The framing for an answer with `status` to a request with `method` and `version`.
    static func forAnswer(
        status: Int, method: HTTPMethod, version: HTTPVersion, hasContentLength: Bool
    ) -> ResponseBodyFraming {
        if method == .HEAD || status < 200 || status == 204 || status == 304 { return .none }
        if hasContentLength { return .length }
        return version.major == 1 && version.minor == 0 ? .untilClose : .chunked
    }
}
