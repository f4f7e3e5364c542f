import NIOCore

/// Checks each request line as raw bytes, before the HTTP decoder (which is lenient about them and reports an
/// over-long line only as a too-large head):
/// - longer than `maxBytes`: `414 URI Too Long` (RFC 9110 §15.5.15; RFC 9112 §3 asks for at least 8000 octets);
/// - not `method SP target SP version CRLF` with single spaces, or ended by a bare LF: `400` (RFC 9112 §3, §2.2:
///   a recipient SHOULD NOT try to autocorrect an invalid request line).
/// Either way the connection closes. It learns where the next request starts from the `ConnectionPhase` events.
final class RequestLineGuard: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let defaultMaxBytes = 8192

    private let maxBytes: Int
    /// The current request line so far; nil when not inside one.
    private var line: [UInt8]? = []
    private var refused = false

    init(maxBytes: Int = defaultMaxBytes) {
        self.maxBytes = maxBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let buffer = unwrapInboundIn(data)
        if var seen = line {
            let view = buffer.readableBytesView
            let newline = view.firstIndex(of: UInt8(ascii: "\n"))
            seen.append(contentsOf: view[..<(newline ?? view.endIndex)].prefix(maxBytes + 1 - seen.count))
            line = seen
            if seen.count > maxBytes {
                refuse("414 URI Too Long", context: context)
                return
            }
            if newline != nil {
                line = nil
                // Blank lines before a request are allowed (RFC 9112 §2.2); the decoder skips them.
                if seen != [UInt8(ascii: "\r")], seen.count > 0, !Self.isWellFormed(seen) {
                    refuse("400 Bad Request", context: context)
                    return
                }
                if seen == [UInt8(ascii: "\r")] || seen.isEmpty { line = [] }
            }
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        // A new request may start once the previous one is answered.
        if case .idle? = event as? ConnectionPhase { line = [] }
        context.triggerUserOutboundEvent(event, promise: promise)
    }

    /// Three parts separated by single spaces, ended by CRLF.
    static func isWellFormed(_ line: [UInt8]) -> Bool {
        guard line.last == UInt8(ascii: "\r") else { return false }
        let parts = line.dropLast().split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        return parts.count == 3 && parts.allSatisfy { !$0.isEmpty }
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
