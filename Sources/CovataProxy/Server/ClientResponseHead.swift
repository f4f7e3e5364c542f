import CurlClient
import NIOCore

/// A status line and header fields, and how the body after them is framed for this client.
struct ClientResponseHead {
    /// Three digits: the curl head parser and our own answers guarantee it.
    var status: Int
    var reason: String
    /// The upstream's fields that pass the header policy, as the bytes it sent; written first.
    var upstreamFields: HeaderFields
    /// Fields of our own, written after those: all of them in our own answers, `Connection` where the client must
    /// be told. With Content-Length somewhere if the body has a known length; the encoder adds the chunked
    /// Transfer-Encoding itself when `framing` asks for it.
    var headers: [(name: String, value: String)]
    var framing: ResponseBodyFraming
    /// The whole body, when the answer is complete with this head: the encoder writes head, body and the body's
    /// end as one buffer (one write for a small answer, not three), and no `.body` or `.end` parts follow.
    var completeBody: ByteBuffer?

    init(
        status: Int, reason: String, upstreamFields: HeaderFields = HeaderFields(),
        headers: [(name: String, value: String)] = [], framing: ResponseBodyFraming, completeBody: ByteBuffer? = nil
    ) {
        self.status = status
        self.reason = reason
        self.upstreamFields = upstreamFields
        self.headers = headers
        self.framing = framing
        self.completeBody = completeBody
    }
}

/// An answer on its way to a route's client; `ResponseEncoder` writes it as HTTP/1.1 bytes.
enum ClientResponsePart {
    /// Indirect, so the part fits a pipeline message's inline storage: otherwise every body part and end marker
    /// would be boxed on the heap as it passes between handlers.
    indirect case head(ClientResponseHead)
    case body(ByteBuffer)
    case end
}
