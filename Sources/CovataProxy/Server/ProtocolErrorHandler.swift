import NIOCore
import NIOHTTP1

/// Answers requests NIO's parser refuses with the status RFC 9110/9112 asks for, then lets the decoder close the
/// connection: 431 for a head over the limits, 505 for an HTTP version other than 1.x, 400 for everything else.
/// The connection is closed afterwards: the parser cannot find the next request after an error.
final class ProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = ClientResponsePart
    typealias OutboundOut = ClientResponsePart

    /// A response has started and not ended: too late for an error answer.
    private var responseOpen = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // Bytes after a request that closes the connection (`Connection: close`, or HTTP/1.0 without keep-alive):
        // not an error in anything we were sent to answer. Requests before them are answered as usual, the closing
        // one's answer closes the connection, and the parser delivers nothing more (RFC 9112 §9.6).
        if parserError == .closedConnection { return }
        if !responseOpen {
            let status: HTTPResponseStatus
            switch parserError {
            case .headerOverflow: status = .requestHeaderFieldsTooLarge
            case .invalidVersion: status = .httpVersionNotSupported
            default: status = .badRequest
            }
            let head = ClientResponseHead(
                status: Int(status.code), reason: status.reasonPhrase,
                headers: [("Connection", "close"), ("Content-Length", "0")], framing: .length)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end)).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
        // The forwarding handler learns of it too, so it never answers this request a second time.
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status >= 200: responseOpen = true
        case .end: responseOpen = false
        default: break
        }
        context.write(data, promise: promise)
    }
}

@available(*, unavailable)
extension ProtocolErrorHandler: Sendable {}
