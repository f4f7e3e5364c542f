import CurlClient
import NIOCore
import NIOHTTP1
import ProxyConfiguration
import ProxySupport

/// Every answer's head as the client gets it: the upstream's through the header policy and the redirect rewriter, the
/// held 401 as the proxy's own (`TokenRejection`), and our own answers from the catalog (`OwnAnswers`), each framed
/// for this client and saying `Connection: close` when the machine decided the connection ends.
extension ForwardingHandler {
    /// How an upstream answer's body is framed for this client (RFC 9112 §6.3): curl has undone the upstream's.
    func answerFraming(_ head: CurlResponseHead, record: ExchangeRecord) -> ResponseBodyFraming {
        ResponseBodyFraming.forAnswer(
            status: head.status, method: record.head.method, version: record.head.version,
            hasContentLength: head.fields.contains("content-length"))
    }

    /// The client's head for an upstream answer, its fields through the header policy.
    func clientAnswer(
        _ head: CurlResponseHead, framing: ResponseBodyFraming, closes: Bool, record: ExchangeRecord
    ) -> ClientResponseHead {
        record.status = head.status
        return clientHead(
            status: head.status, reason: head.reason, upstreamFields: clientFields(head, record: record),
            framing: framing, closes: closes, record: record)
    }

    /// An upstream answer's fields through the header policy, with URLs that point back at Covata pointed at the
    /// proxy: on a base-URL route only (origin-form requests); in forward-proxy mode the client already sends those
    /// hosts through the proxy.
    private func clientFields(_ head: CurlResponseHead, record: ExchangeRecord) -> HeaderFields {
        var fields = HeaderPolicy.clientResponseFields(head)
        guard forwarder.route.rewriteRedirects, record.head.uri.utf8.first == UInt8(ascii: "/"),
            RedirectRewriter.mentionsURLs(fields), let rewriter = forwarder.redirects.current
        else { return fields }
        // The Host the client used, when this route accepts it: the address it knows the proxy by.
        let host = record.head.headers.first(name: "host").flatMap(HostField.init).flatMap {
            RequestScreen.hostNamesListener($0, route: forwarder.route) ? $0.authority : nil
        }
        var unixRoutes: [String] = []
        rewriter.rewrite(&fields, own: forwarder.index, clientHost: host, unixRoutes: &unixRoutes)
        for route in unixRoutes where forwarder.redirects.firstWarning(for: route) {
            forwarder.logger.notice(
                "answer points at a route on a unix socket; URL left unchanged", metadata: ["route": "\(route)"])
        }
        return fields
    }

    /// Any answer's head: the body framed for this client, and Connection where the client needs to be told
    /// (`closes`, the machine's decision).
    private func clientHead(
        status: Int, reason: String, upstreamFields: HeaderFields = HeaderFields(),
        headers: [(name: String, value: String)] = [], framing: ResponseBodyFraming, closes: Bool,
        record: ExchangeRecord
    ) -> ClientResponseHead {
        var headers = headers
        if closes {
            // RFC 9112 §9.6: nothing pipelined behind an answer that closes the connection is started.
            headers.append(("Connection", "close"))
        } else if record.head.version == .http1_0 {
            // RFC 9112 §9.3: an HTTP/1.0 client keeps the connection only if the answer says so.
            headers.append(("Connection", "keep-alive"))
        }
        return ClientResponseHead(
            status: status, reason: reason, upstreamFields: upstreamFields, headers: headers, framing: framing)
    }

    /// A held 401 answered with the proxy's own 401 (`ProxyError.upstreamRefusedToken`): the upstream's answer may
    /// carry the token in any form, so only its error code and realm are taken from it.
    @inline(never)
    func relayHeld(retireToken: Bool, closes: Bool) {
        guard let record, let (head, body) = record.held else { return }
        let token = record.token
        if retireToken, let token {
            // No replay left: the token is still retired (if current), so the client's next request gets a fresh one.
            let tokens = forwarder.tokens
            let resource = resource(of: record)
            tokens.retire(token, resource: resource, replaying: false) { _ in }
        }
        answer(
            .upstreamRefusedToken(TokenRejection(head: head, body: body, token: token?.value.value ?? "")),
            closes: closes)
    }

    /// Our own answer, from the catalog (`OwnAnswers`); the transfer, if any, is cancelled.
    @inline(never)
    func answer(_ error: ProxyError, closes: Bool) {
        guard let record, let context else { return }
        record.transfer?.cancel()
        record.held = nil
        let (status, code, headers, body) = error.response
        record.errorCode = code
        let fields = headers.map { ($0.name, $0.value) }
        // Our answers carry their length: never framed by the connection's end.
        let framing = ResponseBodyFraming.forAnswer(
            status: Int(status.code), method: record.head.method, version: record.head.version, hasContentLength: true)
        let head = clientHead(
            status: Int(status.code), reason: status.reasonPhrase, headers: fields, framing: framing, closes: closes,
            record: record)
        // A HEAD answer (framing `.none`) announces the length but carries no body; the encoder leaves it out.
        head.completeBody = ByteBuffer(bytes: body)
        if head.framing != .none { record.bytesOut += Int64(body.count) }
        record.status = Int(status.code)
        context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
        answered()
    }
}
