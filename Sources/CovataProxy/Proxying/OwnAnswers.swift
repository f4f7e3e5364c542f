import NIOCore
import NIOHTTP1

/// Every answer the proxy writes itself, in one place: the JSON answers come from `ProxyError.response`; the bare
/// ones (for requests the parser or the request-line guard refuse, where there is no request to name in JSON) and
/// the `100 Continue` interim answer are here. Answers written below the HTTP encoder (timeouts, request-line
/// refusals) are whole responses as bytes, encoded once.
enum OwnAnswers {
    /// The bare refusals: no body, and the connection closes (the parser cannot find the next request).
    static func bare(_ status: HTTPResponseStatus) -> ClientResponseHead {
        ClientResponseHead(
            status: Int(status.code), reason: status.reasonPhrase,
            headers: [("Connection", "close"), ("Content-Length", "0")], framing: .length, completeBody: ByteBuffer())
    }

    /// The same as bytes, for handlers below the encoder.
    static func bareBytes(_ status: HTTPResponseStatus) -> ByteBuffer {
        ByteBuffer(
            string: "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    }

    static let uriTooLong = bareBytes(.uriTooLong)
    static let badRequestLine = bareBytes(.badRequest)

    /// The one 408: a head too slow (written below the encoder) or a body stalled (through it) get the same answer.
    static let requestTimeout: ByteBuffer = {
        let (status, _, headers, body) = ProxyError.requestTimeout.response
        var text = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "Connection: close\r\nContent-Length: \(body.count)\r\n\r\n"
        var buffer = ByteBuffer(string: text)
        buffer.writeBytes(body)
        return buffer
    }()

    /// RFC 9110 §15.2.1: the interim answer to `Expect: 100-continue`.
    static let continueHead = ClientResponseHead(status: 100, reason: "Continue", framing: .none)
}
