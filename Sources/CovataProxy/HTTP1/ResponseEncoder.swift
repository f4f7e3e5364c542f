import CurlClient
import NIOCore
import NIOHTTP1
import ProxySupport

/// Writes a route's answers as HTTP/1.1 bytes (RFC 9112 §4 status line, §5 fields, §7.1 chunked coding).
///
/// It replaces NIO's response encoder and its header validator for two reasons: the framing must follow the
/// client's HTTP version (NIO's encoder chunks for any head that says 1.1, and an HTTP/1.0 client cannot read
/// that), and the fields arrive already checked (the curl head parser refuses bad names and CR, LF or NUL in
/// values; the rest are our own), so checking and copying them into `HTTPHeaders` again cost time on every answer.
final class ResponseEncoder: ChannelOutboundHandler {
    typealias OutboundIn = ClientResponsePart
    typealias OutboundOut = ByteBuffer

    private static let crlf = ByteBuffer(string: "\r\n")
    private static let lastChunk = ByteBuffer(string: "0\r\n\r\n")
    private static let nothing = ByteBuffer()

    /// The answer being written is in chunked coding.
    private var chunked = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            chunked = head.framing == .chunked && head.completeBody == nil
            context.write(wrapOutboundOut(Self.encode(head, allocator: context.channel.allocator)), promise: promise)
        case .body(let body):
            // An empty chunk would read as the end of the body.
            guard chunked, body.readableBytes > 0 else {
                context.write(wrapOutboundOut(body), promise: promise)
                return
            }
            var size = context.channel.allocator.buffer(capacity: 18)
            size.writeString(Self.chunkSize(body))
            context.write(wrapOutboundOut(size), promise: nil)
            context.write(wrapOutboundOut(body), promise: nil)
            context.write(wrapOutboundOut(Self.crlf), promise: promise)
        case .end:
            // Written even when empty, so the promise completes after the body before it has gone out.
            context.write(wrapOutboundOut(chunked ? Self.lastChunk : Self.nothing), promise: promise)
            chunked = false
        }
    }

    static func encode(_ head: ClientResponseHead, allocator: ByteBufferAllocator) -> ByteBuffer {
        // The head's size, at most: `upstreamFields.bytes` holds each kept field's name and value (and what lies
        // between them, and dropped fields), so it bounds what the fields take.
        var size = 17 + head.reason.utf8.count + head.upstreamFields.bytes.count + head.upstreamFields.count * 4 + 28
        for (name, value) in head.headers { size += name.utf8.count + value.utf8.count + 4 }
        var buffer = allocator.buffer(capacity: size + (head.completeBody.map { $0.readableBytes + 32 } ?? 0))
        // Written through the buffer's memory in one pass: each write to a ByteBuffer checks capacity, uniqueness
        // and exclusive access, which for a dozen small pieces cost more than the copying.
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { memory in
            var out = ByteWriter(memory)
            out.write("HTTP/1.1 ")
            // Three digits, written as bytes: formatting an Int as a String would allocate.
            out.write(UInt8(ascii: "0") + UInt8(head.status / 100 % 10))
            out.write(UInt8(ascii: "0") + UInt8(head.status / 10 % 10))
            out.write(UInt8(ascii: "0") + UInt8(head.status % 10))
            out.write(" ")
            out.write(contentsOf: head.reason)
            out.write("\r\n")
            head.upstreamFields.forEach { name, value in
                out.write(name)
                out.write(": ")
                out.write(value)
                out.write("\r\n")
            }
            for (name, value) in head.headers {
                out.write(contentsOf: name)
                out.write(": ")
                out.write(contentsOf: value)
                out.write("\r\n")
            }
            if head.framing == .chunked { out.write("Transfer-Encoding: chunked\r\n") }
            out.write("\r\n")
            return out.count
        }
        guard let body = head.completeBody else { return buffer }
        // A whole answer: the body and its end follow in the same buffer.
        switch head.framing {
        case .none:
            break
        case .length, .untilClose:
            buffer.writeImmutableBuffer(body)
        case .chunked:
            if body.readableBytes > 0 {
                buffer.writeString(chunkSize(body))
                buffer.writeImmutableBuffer(body)
                buffer.writeImmutableBuffer(crlf)
            }
            buffer.writeImmutableBuffer(lastChunk)
        }
        return buffer
    }

    /// A chunk's size line (RFC 9112 §7.1).
    private static func chunkSize(_ body: ByteBuffer) -> String {
        String(body.readableBytes, radix: 16) + "\r\n"
    }
}

@available(*, unavailable)
extension ResponseEncoder: Sendable {}

@available(*, unavailable)
extension ClientResponseHead: Sendable {}

/// A status line and header fields, and how the body after them is framed for this client. A class: made once and
/// handed to the encoder, it passes the pipeline as one reference, where a struct of six references was copied
/// (and each retained) at every hand-over.
final class ClientResponseHead {
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
    case head(ClientResponseHead)
    case body(ByteBuffer)
    case end
}

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
