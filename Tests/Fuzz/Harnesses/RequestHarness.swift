import CurlClient
import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1

@testable import CovataProxy
@testable import ProxyConfiguration

/// A client's bytes as the proxy reads them: the request decoder with the proxy's limits, then the screen every head
/// passes (Host, target, path rules, header rules, body framing) and the header policy toward the upstream. The
/// first byte picks a route and where the bytes split across two reads; the decoder must make the same parts of
/// them in one read.
enum RequestHarness {
    /// A plain route, and one with a base path and every access rule.
    static let routes: [RouteConfig] = {
        let document = """
            {"routes": [
              {"listen": "127.0.0.1:8080", "upstream": "https://covata.example"},
              {"listen": "127.0.0.1:8081", "upstream": "https://covata.example/base/v1", "hosts": ["proxy.internal"],
               "allowMethods": ["GET", "POST"], "allowPaths": ["/api/", "/files"],
               "requireHeader": {"name": "X-Proxy-Key", "value": "fuzz-caller-key-31"}}],
             "oauth": {"tokenURL": "https://covata.example/oauth/token", "clientID": "c", "clientSecret": "s",
                       "username": "u", "password": "p"}}
            """
        return try! ProxyConfig.parse(Data(document.utf8), environment: [:]).routes
    }()

    static let bearer = "fuzz-bearer-token-9c"

    static func run(_ bytes: [UInt8]) throws(OracleFailure) {
        guard let first = bytes.first else { return }
        let route = routes[Int(first & 1)]
        let stream = bytes.dropFirst()
        let split = stream.count * Int(first >> 1) / 128
        let (ours, parts) = read([Array(stream.prefix(split)), Array(stream.dropFirst(split))])
        let heads = ours.map(\.head)
        let (_, whole) = read([Array(stream)])
        try require(parts == whole, "split at \(split), decoded otherwise: \(parts) against \(whole)")
        let maxBody = LimitsConfig.defaults.maxRequestBodyBytes
        let llhttp = llhttpReading(Array(stream))
        for (index, head) in heads.enumerated() {
            let fields = RequestFields(head.headers)
            let framing = RequestScreen.bodyFraming(head, fields: fields, maxBytes: maxBody)
            let screened = RequestScreen.screen(head, fields: fields, framing: framing, route: route)
            guard screened.refusal == nil, let pathAndQuery = screened.pathAndQuery, case .success(let body) = framing
            else { continue }
            try agreesWithLLHTTP(ours, index, llhttp)
            try pathStaysUnder(route, pathAndQuery)
            try framingIsValid(head, body)
            try hostRoundTrips(head)
            try upstreamHeadersAreClean(head, route: route)
        }
    }

    /// The request heads the decoder makes of `reads`, and every part as text (bodies joined: their split follows
    /// the reads), up to a refusal.
    private static func read(_ reads: [[UInt8]]) -> (messages: [Message], parts: [String]) {
        let recorder = Recorder()
        let channel = EmbeddedChannel()
        let limits = LimitsConfig.defaults
        try! channel.pipeline.syncOperations.addHandlers(
            RequestDecoder(maxHeaderBytes: limits.maxHeaderBytes, maxHeaderCount: limits.maxHeaderCount), recorder)
        for part in reads where !part.isEmpty && !recorder.failed {
            _ = try? channel.writeInbound(ByteBuffer(bytes: part))
        }
        _ = try? channel.finish()
        return (recorder.messages, recorder.parts)
    }

    private final class Recorder: ChannelInboundHandler {
        typealias InboundIn = ClientRequestPart
        var messages: [Message] = []
        var parts: [String] = []
        var failed = false
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !failed else { return }
            switch unwrapInboundIn(data) {
            case .head(let request):
                let head = request.head
                messages.append(Message(head: head))
                parts.append("head \(head.method) \(head.uri) \(head.version) \(head.headers)")
            case .body(let buffer):
                // Byte values, not text: a character split across two reads must compare equal to itself.
                messages[messages.count - 1].body += buffer.readableBytesView
                let bytes = buffer.readableBytesView.map { "\($0)," }.joined()
                if let last = parts.last, last.hasPrefix("body ") {
                    parts[parts.count - 1] += bytes
                } else {
                    parts.append("body " + bytes)
                }
            case .end:
                messages[messages.count - 1].ended = true
                parts.append("end")
            }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            failed = true
            parts.append("refused \(error)")
        }
    }

    /// A request as a parser read it: its head, its body so far, whether it ended.
    struct Message {
        let head: HTTPRequestHead
        var body: [UInt8] = []
        var ended = false
    }

    /// The messages NIO's parser (llhttp, which read the proxy's requests until our decoder replaced it) makes of the
    /// same bytes, and whether it refused what followed them (a head, or the last message's body).
    private static func llhttpReading(_ bytes: [UInt8]) -> (messages: [Message], refused: Bool) {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
        defer { _ = try? channel.finish() }
        let refused = (try? channel.writeInbound(ByteBuffer(bytes: bytes))) == nil
        var messages: [Message] = []
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head(let head): messages.append(Message(head: head))
            case .body(let buffer): messages[messages.count - 1].body += buffer.readableBytesView
            case .end: messages[messages.count - 1].ended = true
            }
        }
        return (messages, refused)
    }

    /// Our decoder and screen together are no looser than llhttp was, and read what it read: where both read the same
    /// request lines before a forwarded request, llhttp read that request alike (head, body, where it ends), or
    /// refused it only where we differ on purpose (said here, and why).
    private static func agreesWithLLHTTP(
        _ ours: [Message], _ index: Int, _ llhttp: (messages: [Message], refused: Bool)
    ) throws(OracleFailure) {
        guard ours.prefix(index).map({ line($0.head) }) == llhttp.messages.prefix(index).map({ line($0.head) })
        else { return }
        let mine = ours[index]
        let head = mine.head
        guard index < llhttp.messages.count else {
            // Extension methods (RFC 9110 §9.1: any token) are ours to allow or refuse by route; llhttp knows a list.
            if case .RAW = head.method { return }
            try require(!llhttp.refused, "llhttp refused this head and we forwarded it: \(line(head)) \(head.headers)")
            return
        }
        let theirs = llhttp.messages[index]
        try require(
            line(head) == line(theirs.head) && fields(head) == fields(theirs.head),
            "llhttp read this head otherwise: \(line(head)) \(head.headers) against \(line(theirs.head)) "
                + "\(theirs.head.headers)")
        let last = index == llhttp.messages.count - 1
        if mine.ended && theirs.ended {
            try require(mine.body == theirs.body, "llhttp read this body otherwise: \(line(head))")
        } else if mine.ended && last {
            try require(!llhttp.refused, "llhttp refused this body and we read it whole: \(line(head))")
        }
    }

    /// RFC 9110 §5.5: a value's surrounding whitespace is not part of it; llhttp hands over what follows the value.
    private static func fields(_ head: HTTPRequestHead) -> [String] {
        head.headers.map { "\($0.name): \($0.value.trimmingCharacters(in: CharacterSet(charactersIn: " \t")))" }
    }

    private static func line(_ head: HTTPRequestHead) -> String { "\(head.method) \(head.uri) \(head.version)" }

    /// What reaches the upstream is an ASCII path (RFC 9112 §3.2) under the route's base path and allowed prefixes,
    /// with no dot segment however often it is decoded (RFC 3986 §5.2.4), and no decoded byte that could end a line.
    /// Bytes, not characters: a combining mark after "/" makes one `Character` that `hasPrefix("/")` does not match.
    private static func pathStaysUnder(_ route: RouteConfig, _ pathAndQuery: String) throws(OracleFailure) {
        try require(
            pathAndQuery.utf8.first == UInt8(ascii: "/"), "forwarded a target that is not a path: \(pathAndQuery)")
        try require(pathAndQuery.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "forwarded a raw byte: \(pathAndQuery)")
        let path = Array((route.upstream.basePath + pathAndQuery).utf8.prefix { $0 != UInt8(ascii: "?") })
        var decoded = path
        for _ in 0..<3 {
            let segments = decoded.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
                .flatMap { $0.split(separator: UInt8(ascii: "\\"), omittingEmptySubsequences: false) }
                .map { $0.prefix { $0 != UInt8(ascii: ";") } }
            try require(
                !segments.contains { $0.elementsEqual([0x2E]) || $0.elementsEqual([0x2E, 0x2E]) },
                "a dot segment reaches the upstream: \(pathAndQuery)")
            try require(!decoded.contains { $0 == 0 || $0 == 0x0A || $0 == 0x0D }, "a decoded control byte")
            decoded = percentDecoded(decoded)
        }
        let text = String(decoding: path, as: UTF8.self)
        try require(text.hasPrefix(route.upstream.basePath), "left the base path: \(text)")
        if let prefixes = route.access.pathPrefixes {
            let below = String(text.dropFirst(route.upstream.basePath.count))
            try require(
                prefixes.contains { below == $0 || below.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") },
                "outside the allowed paths: \(below)")
        }
    }

    private static func percentDecoded(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let value = UInt8(String(decoding: bytes[index + 1...index + 2], as: UTF8.self), radix: 16)
            {
                out.append(value)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }

    /// RFC 9112 §6.1-6.3, read independently: Transfer-Encoding only in HTTP/1.1, only `chunked`, never beside a
    /// Content-Length; one Content-Length field, one run of digits.
    private static func framingIsValid(_ head: HTTPRequestHead, _ body: CurlRequestBody) throws(OracleFailure) {
        // RFC 9110 §5.6.1: list elements split on commas, empty ones ignored (an empty field line lists none).
        let codings = head.headers.filter { $0.name.lowercased() == "transfer-encoding" }
            .flatMap { $0.value.split(separator: ",", omittingEmptySubsequences: false) }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        // RFC 9110 §5.5: a field value has no leading or trailing whitespace (a parser may hand it over).
        let lengths = head.headers.filter { $0.name.lowercased() == "content-length" }
            .map { $0.value.trimmingCharacters(in: CharacterSet(charactersIn: " \t")) }
        if !codings.isEmpty {
            try require(head.version == .http1_1, "Transfer-Encoding in HTTP/1.0 accepted")
            try require(lengths.isEmpty, "Transfer-Encoding beside Content-Length accepted")
            try require(codings == ["chunked"], "a coding other than chunked: \(codings)")
            try require(body == .stream(length: nil), "chunked read as another framing")
            return
        }
        guard let length = lengths.first else { return try require(body == .none, "a body without framing") }
        try require(
            lengths.count == 1 && !length.isEmpty && length.utf8.allSatisfy { (48...57).contains($0) },
            "an invalid Content-Length accepted: \(lengths)")
        let expected = Int64(length)!
        try require(
            body == (expected == 0 ? .bytes([]) : .stream(length: expected)), "Content-Length \(length) read as \(body)"
        )
    }

    /// The Host the proxy writes back (into a rewritten redirect) is rebuilt from parts that parse to themselves.
    private static func hostRoundTrips(_ head: HTTPRequestHead) throws(OracleFailure) {
        guard let raw = head.headers.first(name: "host"), let host = HostField(raw) else { return }
        let authority = host.authority
        try require(
            authority.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || Array("-._~:[]".utf8).contains(byte)
            }, "a Host rebuilt with bytes outside name[:port]: \(authority)")
        let again = HostField(authority)
        try require(again?.name == host.name && again?.port == host.port, "a Host that does not parse to itself")
    }

    /// Toward the upstream: exactly one Authorization, ours, last; no hop-by-hop field, none that Connection names,
    /// no forwarding claims or overrides, not the caller's proof.
    private static func upstreamHeadersAreClean(_ head: HTTPRequestHead, route: RouteConfig) throws(OracleFailure) {
        let proof = route.access.requiredHeader?.name
        let fields = HeaderPolicy.upstreamRequestHeaders(
            head.headers, authorization: Secret("Bearer \(bearer)"), callerProof: proof)
        let names = fields.map { $0.name.lowercased() }
        try require(names.filter { $0 == "authorization" }.count == 1, "not exactly one Authorization upstream")
        try require(fields.last?.value == "Bearer \(bearer)", "the credential is not the last field")
        let named = head.headers.filter { $0.name.lowercased() == "connection" }
            .flatMap { $0.value.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let listed = HeaderPolicy.hopByHop.names + HeaderPolicy.redoneHere.names + HeaderPolicy.overrides.names
        let refused = Set(listed + ["forwarded"] + named).union(proof.map { [$0] } ?? []).subtracting(["close"])
        for name in names.dropLast() {
            try require(!refused.contains(name) && !name.hasPrefix("x-forwarded-"), "\(name) reaches the upstream")
        }
    }
}
