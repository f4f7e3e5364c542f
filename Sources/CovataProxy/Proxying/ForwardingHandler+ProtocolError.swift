import NIOCore
import NIOHTTP1

/// Requests NIO's parser refuses: answered with the status RFC 9110/9112 asks for, then the connection closes (the
/// parser cannot find the next request after an error). Handled here rather than in a handler of its own, which
/// cost a pipeline hop on every read and write of every request.
extension ForwardingHandler {
    func parserFailed(_ error: HTTPParserError, context: ChannelHandlerContext) {
        // Bytes after a request that closes the connection (`Connection: close`, or HTTP/1.0 without keep-alive):
        // not an error in anything we were sent to answer. Requests before them are answered as usual, the closing
        // one's answer closes the connection, and the parser delivers nothing more (RFC 9112 §9.6).
        if error == .closedConnection { return }
        closing = true
        pipelined.removeAll()
        // A response that has started and not ended: too late for an error answer.
        let responseOpen = exchange.map { $0.responseHeadSent && !$0.responseEnded } ?? false
        if let exchange {
            // Never answered a second time, and nothing more goes upstream.
            exchange.failed = true
            exchange.responseHeadSent = true
            exchange.transfer?.cancel()
        }
        guard !responseOpen else {
            context.close(promise: nil)
            return
        }
        let status: HTTPResponseStatus
        switch error {
        case .headerOverflow: status = .requestHeaderFieldsTooLarge
        case .invalidVersion: status = .httpVersionNotSupported
        default: status = .badRequest
        }
        let head = OwnAnswers.bare(status)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.head(head))).whenComplete { _ in channel.close(promise: nil) }
    }
}
