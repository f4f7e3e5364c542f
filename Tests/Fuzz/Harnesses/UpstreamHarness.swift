import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1

@testable import CovataProxy
@testable import CurlClient

/// An upstream's answer as curl hands it over: header lines into the head parser, the header policy and our encoder
/// toward the client; a 401 into the proxy's own answer; URLs into the redirect rewriter.
enum UpstreamHarness {
    /// The head text up to its blank line, one line per header callback (as curl calls it), then the body.
    static func head(_ bytes: [UInt8]) throws(OracleFailure) {
        var parser = CurlHeadParser()
        var index = 0
        var head: CurlResponseHead?
        while index < bytes.count, head == nil, parser.problem == nil {
            let end = bytes[index...].firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? bytes.count
            head = bytes[index..<end].withUnsafeBytes { parser.feed($0) }
            index = end
        }
        guard let head else { return }
        try require((100...999).contains(head.status) && head.status >= 200, "a head with status \(head.status)")
        try clientSeesWhatWasSent(head)
        if head.status == 401 { try refusalHidesTheToken(head, body: Array(bytes[index...])) }
    }

    /// Our encoding of the passed fields parses back, with a strict parser, to exactly those fields.
    private static func clientSeesWhatWasSent(_ head: CurlResponseHead) throws(OracleFailure) {
        let fields = HeaderPolicy.clientResponseFields(head)
        let framing = ResponseBodyFraming.forAnswer(
            status: head.status, method: .GET, version: .http1_1, hasContentLength: fields.contains("content-length"))
        let answer = ClientResponseHead(
            status: head.status, reason: head.reason, upstreamFields: fields, headers: [("Connection", "keep-alive")],
            framing: framing)
        let channel = EmbeddedChannel(handlers: [ByteToMessageHandler(HTTPResponseDecoder())])
        defer { _ = try? channel.finish() }
        // The decoder pairs answers with requests: one GET went out first.
        _ = try? channel.writeOutbound(
            HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")))
        let bytes = ResponseEncoder.encode(answer, allocator: ByteBufferAllocator())
        do {
            try channel.writeInbound(bytes)
        } catch {
            throw OracleFailure("our answer head does not parse: \(error): \(String(buffer: bytes).prefix(200))")
        }
        guard case .head(let parsed)? = try? channel.readInbound(as: HTTPClientResponsePart.self) else {
            throw OracleFailure("our answer head is not complete")
        }
        try require(Int(parsed.status.code) == head.status, "status \(head.status) read as \(parsed.status.code)")
        let sent = fields.text
        let added = framing == .chunked ? 2 : 1
        try require(
            parsed.headers.count == sent.count + added, "\(sent.count) fields sent, \(parsed.headers.count) read")
        for (read, sent) in zip(parsed.headers, sent) {
            try require(read.name == sent.name && read.value == sent.value, "field \(sent.name) read differently")
        }
        let named = HeaderPolicy.connectionOptions(head.fields)
        for (name, _) in sent {
            try require(
                !(HeaderPolicy.hopByHop.names + named).contains(name.lowercased()),
                "hop-by-hop \(name) passed to the client")
        }
    }

    static let token = "eyJhbGciOiJIUzI1NiJ9.fuzz-token-payload.c2lnbmF0dXJl"

    /// An upstream 401 may carry the token anywhere; the proxy's own 401 carries none of it.
    private static func refusalHidesTheToken(_ head: CurlResponseHead, body: [UInt8]) throws(OracleFailure) {
        let rejection = TokenRejection(head: head, body: ByteBuffer(bytes: body), token: token)
        let (status, code, headers, answerBody) = ProxyError.upstreamRefusedToken(rejection).response
        try require(status == .unauthorized && TokenRejection.knownCodes.contains(code), "a 401 answered as \(status)")
        let text =
            headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
            + String(decoding: answerBody, as: UTF8.self)
        try require(!text.contains(token), "the proxy's 401 carries the token")
    }

    /// The routes of the request harness, and the Host values a client of them may send.
    static let rewriter = RedirectRewriter(
        targets: RequestHarness.routes.map { RedirectRewriter.Target($0, bound: $0.listen) })
    static let clientHosts: [String?] = [nil, "localhost:8080", "[::1]:8081", "proxy.internal", "127.0.0.1"]

    /// First byte: the route the request came through and the client's Host; the rest: a Location or Link value.
    static func redirect(_ bytes: [UInt8]) throws(OracleFailure) {
        guard let first = bytes.first else { return }
        let own = Int(first & 1)
        let clientHost = clientHosts[Int(first >> 1) % clientHosts.count]
        let value = String(decoding: bytes.dropFirst(), as: UTF8.self)
        let expected = rewriter.targets.indices.map { index in
            index == own ? clientHost ?? rewriter.targets[index].listener! : rewriter.targets[index].listener!
        }
        if case .rewritten(let url) = rewriter.rewrite(Substring(value), own: own, clientHost: clientHost) {
            try pointsAtProxy(url, from: value, authorities: expected)
        }
        var unixRoutes: [String] = []
        if let link = rewriter.rewriteLink(Substring(value), own: own, clientHost: clientHost, unixRoutes: &unixRoutes)
        {
            try require(link.count(where: { $0 == "<" }) == value.count(where: { $0 == "<" }), "a Link lost a <")
        }
    }

    /// `http://` and one of the proxy's own authorities, then a path; a valid URL when the original was one.
    private static func pointsAtProxy(_ url: String, from original: String, authorities: [String]) throws(OracleFailure)
    {
        let origin = authorities.first { url.hasPrefix("http://\($0)/") }
        try require(origin != nil, "rewritten to another origin: \(url)")
        guard URLComponents(string: original) != nil else { return }
        guard let parsed = URLComponents(string: url) else {
            throw OracleFailure("rewritten to an invalid URL: \(url)")
        }
        try require(parsed.user == nil && parsed.password == nil, "a rewritten URL with user info: \(url)")
        let host = parsed.port.map { "\(parsed.host ?? ""):\($0)" } ?? parsed.host ?? ""
        try require(
            authorities.contains { $0 == host || $0 == "[\(parsed.host ?? "")]:\(parsed.port ?? 0)" },
            "a rewritten URL's origin reads as \(host): \(url)")
    }
}
