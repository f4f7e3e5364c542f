import NIOCore
import NIOHTTP1

/// One browser connection to the redirect listener.
final class RedirectHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let path: String
    private let expectedState: String
    private let answer: EventLoopPromise<AuthorizationResponse>

    init(path: String, expectedState: String, answer: EventLoopPromise<AuthorizationResponse>) {
        self.path = path
        self.expectedState = expectedState
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard head.method == .GET, parts.first.map(String.init) == path else {
            reply(.notFound, "Not the sign-in callback.", context: context)
            return
        }
        let response = AuthorizationResponse(query: parts.count > 1 ? parts[1] : "")
        guard response.state == expectedState else {
            let text = "This answer does not belong to the sign-in in progress; it was ignored."
            reply(.badRequest, text, context: context)
            return
        }
        if let error = response.error {
            reply(.ok, "Covata refused the sign-in (\(error)). Return to the terminal.", context: context)
        } else {
            reply(.ok, "Signed in. You can close this tab and return to the terminal.", context: context)
        }
        answer.succeed(response)
    }

    private func reply(_ status: HTTPResponseStatus, _ text: String, context: ChannelHandlerContext) {
        let body = Array("<!doctype html><title>covata-proxy</title><p>\(text)</p>\n".utf8)
        let headers = HTTPHeaders([
            ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "\(body.count)"),
            ("Cache-Control", "no-store"), ("Connection", "close"),
        ])
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}

@available(*, unavailable)
extension RedirectHandler: Sendable {}
