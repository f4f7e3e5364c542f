import NIOCore

/// Checks each request line as raw bytes, before the HTTP decoder (which is lenient about them and reports an
/// over-long line only as a too-large head):
/// - longer than `maxBytes`: `414 URI Too Long` (RFC 9110 §15.5.15; RFC 9112 §3 asks for at least 8000 octets);
/// - not `method SP target SP version CRLF` with single spaces, or ended by a bare LF: `400` (RFC 9112 §3, §2.2:
///   a recipient SHOULD NOT try to autocorrect an invalid request line).
/// Either way the connection closes. It learns where the next request starts from the connection's `ConnectionCycle`.
final class RequestLineGuard: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let defaultMaxBytes = 8192

    /// What is known of the current request line, byte by byte (no copy of it is kept).
    private struct Line {
        var length = 0
        var spaces = 0
        /// An empty part: a space first, after another space, or right before the line end.
        var emptyPart = false
        var last: UInt8 = 0

        /// Three parts separated by single spaces, ended by CRLF.
        var isWellFormed: Bool {
            last == UInt8(ascii: "\r") && spaces == 2 && !emptyPart
        }

        /// Blank lines before a request are allowed (RFC 9112 §2.2); the decoder skips them.
        var isBlank: Bool { length == 0 || (length == 1 && last == UInt8(ascii: "\r")) }

        mutating func add(_ byte: UInt8) {
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
    private let cycle: ConnectionCycle
    /// The current request line; nil when not inside one.
    private var line: Line? = Line()
    /// The cycle's round the current line belongs to.
    private var round = 0
    private var refused = false

    init(cycle: ConnectionCycle, maxBytes: Int = defaultMaxBytes) {
        self.cycle = cycle
        self.maxBytes = maxBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        // A new request may start once the previous one is answered.
        if line == nil, cycle.phase == .idle, round != cycle.rounds {
            round = cycle.rounds
            line = Line()
        }
        if var current = line {
            for byte in unwrapInboundIn(data).readableBytesView {
                if byte == UInt8(ascii: "\n") {
                    if current.isBlank {
                        current = Line()
                        continue
                    }
                    guard current.isWellFormed else { return refuse("400 Bad Request", context: context) }
                    line = nil
                    break
                }
                current.add(byte)
                if current.length > maxBytes { return refuse("414 URI Too Long", context: context) }
            }
            if line != nil { line = current }
        }
        context.fireChannelRead(data)
    }

    private func refuse(_ status: String, context: ChannelHandlerContext) {
        refused = true
        let answer = ByteBuffer(string: "HTTP/1.1 \(status)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(answer)).whenComplete { _ in channel.close(promise: nil) }
    }
}

@available(*, unavailable)
extension RequestLineGuard: Sendable {}
