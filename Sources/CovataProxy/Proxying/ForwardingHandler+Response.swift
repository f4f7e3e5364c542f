import CurlClient
import NIOCore
import NIOHTTP1

/// Sending answers to the client: upstream responses as they stream, and our own error answers.
extension ForwardingHandler {
    func upstreamHead(_ head: CurlResponseHead, transfer: CurlTransfer) {
        guard let exchange, exchange.transfer === transfer, let context else { return }
        var headers = HeaderPolicy.clientResponseHeaders(head)
        if !exchange.keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: head.status, reasonPhrase: head.reason)
        exchange.responseHeadSent = true
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
    }

    func upstreamBody(_ body: ByteBuffer, transfer: CurlTransfer) {
        guard let exchange, exchange.transfer === transfer, let context else {
            transfer.didConsume(body.readableBytes)
            return
        }
        let count = body.readableBytes
        // Curl may receive more only once these bytes have left for the client.
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(body)))).whenComplete { _ in
            transfer.didConsume(count)
        }
    }

    func resumeReading(transfer: CurlTransfer) {
        guard let exchange, exchange.transfer === transfer else { return }
        unblockReads()
    }

    func upstreamDone(_ result: Result<Void, CurlError>, transfer: CurlTransfer) {
        guard let exchange, exchange.transfer === transfer, let context else { return }
        switch result {
        case .success:
            exchange.responseEnded = true
            let closeAfter = !exchange.keepAlive || !exchange.requestEnded
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            let channel = context.channel
            if closeAfter { done.whenComplete { _ in channel.close(promise: nil) } }
            finishIfDone(exchange)
        case .failure(let error):
            if exchange.responseHeadSent {
                // HTTP/1.1 cannot signal a broken body; closing without the end marker tells the client.
                forwarder.logger.warning("upstream failed mid-response", metadata: ["curl_code": "\(error.code)"])
                context.close(promise: nil)
            } else {
                forwarder.logger.warning("upstream request failed", metadata: ["curl_code": "\(error.code)", "reason": "\(error.message)"])
                fail(exchange, ProxyError(error))
            }
        }
    }

    /// Answers with our own error. The connection closes unless the request was read to its end.
    func fail(_ exchange: Exchange, _ error: ProxyError) {
        guard let context, !exchange.responseHeadSent else { return }
        exchange.failed = true
        exchange.transfer?.cancel()
        let (status, headers, body) = error.response
        var responseHeaders = headers
        responseHeaders.replaceOrAdd(name: "Content-Length", value: "\(body.count)")
        let closeAfter = !exchange.keepAlive || !exchange.requestEnded
        if closeAfter { responseHeaders.replaceOrAdd(name: "Connection", value: "close") }
        exchange.responseHeadSent = true
        exchange.responseEnded = true
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: responseHeaders))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        let channel = context.channel
        if closeAfter { done.whenComplete { _ in channel.close(promise: nil) } }
        finishIfDone(exchange)
    }
}
