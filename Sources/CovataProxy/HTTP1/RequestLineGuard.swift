import NIOCore
import NIOHTTP1

/// Checks each request line as raw bytes, before the HTTP decoder (which is lenient about them and reports an
/// over-long line only as a too-large head):
/// - longer than `maxBytes`: `414 URI Too Long` (RFC 9110 §15.5.15; RFC 9112 §3 asks for at least 8000 octets);
/// - not `method SP target SP version CRLF` with single spaces, or ended by a bare LF: `400` (RFC 9112 §3, §2.2:
///   a recipient SHOULD NOT try to autocorrect an invalid request line).
/// `RequestFraming` tells it where each request line starts, so requests pipelined behind each other are each
/// checked, however their bytes are split across reads. The bytes before a refused line go on to the decoder; then a
/// `RequestLineRefusal` goes inbound as an error, and nothing more. The connection's handler answers it in its turn,
/// after the requests before it, and closes.
final class RequestLineGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let defaultMaxBytes = 8192

    /// What is known of the current request line, byte by byte (no copy of it is kept).
    private struct Line {
        var length = 0
        var spaces = 0
        /// An empty part: a space first, after another space, or right before the line end.
        var emptyPart = false
        var last: UInt8 = 0
        /// How many leading bytes match the HTTP/2 connection preface's first line.
        var prefaceMatched = 0
        static let preface = Array("PRI * HTTP/2.0\r".utf8)

        /// Three parts separated by single spaces, ended by CRLF.
        var isWellFormed: Bool {
            last == UInt8(ascii: "\r") && spaces == 2 && !emptyPart
        }

        /// `PRI * HTTP/2.0`: an HTTP/2 client's preface (RFC 9113 §3.4), not an HTTP/1.1 request; the decoder would
        /// wait for the rest of it instead of refusing it.
        var isHTTP2Preface: Bool { prefaceMatched == Self.preface.count && length == Self.preface.count }

        /// Blank lines before a request are allowed (RFC 9112 §2.2); the decoder skips them.
        var isBlank: Bool { length == 0 || (length == 1 && last == UInt8(ascii: "\r")) }

        mutating func add(_ byte: UInt8) {
            if prefaceMatched == length, length < Self.preface.count, byte == Self.preface[length] {
                prefaceMatched += 1
            }
            if byte == UInt8(ascii: " ") {
                if length == 0 || last == UInt8(ascii: " ") { emptyPart = true }
                spaces += 1
            } else if byte == UInt8(ascii: "\r"), last == UInt8(ascii: " ") {
                emptyPart = true
            }
            last = byte
            length += 1
        }
    }

    private let maxBytes: Int
    /// The current request line, when inside one.
    private var line = Line()
    private var framing = RequestFraming()
    private var refused = false

    init(maxBytes: Int = defaultMaxBytes) {
        self.maxBytes = maxBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let buffer = unwrapInboundIn(data)
        // Raw bytes: the byte loop below is the hot part of this handler, and a ByteBuffer's view checks bounds on
        // every subscript.
        let (refusal, goodBytes) = buffer.withUnsafeReadableBytes { check($0) }
        guard let refusal else { return context.fireChannelRead(data) }
        refused = true
        // Requests before the bad line are served as usual; the refusal answers after them (RFC 9112 §9.3.2).
        if goodBytes > 0, let good = buffer.getSlice(at: buffer.readerIndex, length: goodBytes) {
            context.fireChannelRead(wrapInboundOut(good))
        }
        context.fireErrorCaught(refusal)
    }

    /// Checks the request-line bytes among `bytes`, skipping heads and bodies. Returns the refusal (nil if none) and
    /// how many bytes come before the refused line.
    private func check(_ bytes: UnsafeRawBufferPointer) -> (refusal: RequestLineRefusal?, goodBytes: Int) {
        // Worked on as locals and put back once: a class's stored properties are checked for exclusive access on
        // every mutation, which per byte cost more than the checks themselves.
        var line = Line()
        var framing = RequestFraming()
        swap(&line, &self.line)
        swap(&framing, &self.framing)
        defer {
            swap(&line, &self.line)
            swap(&framing, &self.framing)
        }
        var index = 0
        var lineStart = 0
        while true {
            index = framing.skip(bytes, from: index)
            guard index < bytes.count else { return (nil, bytes.count) }
            if line.length == 0 { lineStart = index }
            // The request line's bytes up to its LF, without asking the framing again for each.
            while index < bytes.count, bytes[index] != UInt8(ascii: "\n") {
                line.add(bytes[index])
                index += 1
                if line.length > maxBytes { return (RequestLineRefusal(status: .uriTooLong), lineStart) }
            }
            guard index < bytes.count else { return (nil, bytes.count) }
            index += 1
            if line.isBlank {
                line = Line()
                continue
            }
            guard line.isWellFormed, !line.isHTTP2Preface else {
                return (RequestLineRefusal(status: .badRequest), lineStart)
            }
            line = Line()
            framing.requestLineEnded()
        }
    }
}

@available(*, unavailable)
extension RequestLineGuard: Sendable {}

/// A request line the guard refused: `414 URI Too Long` or `400 Bad Request`, answered by the connection's handler.
struct RequestLineRefusal: Error, Sendable {
    let status: HTTPResponseStatus
}
