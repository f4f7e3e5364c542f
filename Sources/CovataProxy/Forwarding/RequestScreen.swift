import NIOHTTP1

/// Who may use the credential, and which requests may carry it: ordered checks run on every request head before a
/// token is fetched. The first failing step answers; nothing reaches Covata.
enum RequestScreen {
    /// `host`: the request's Host, already parsed (nil when it has none).
    static func check(
        _ head: HTTPRequestHead, host: HostField?, pathAndQuery: String, route: RouteConfig
    ) -> ProxyError? {
        // 1. RFC 9110 §5.1 allows `_` in field names, but proxies that fold `_` into `-` let `Transfer_Encoding`
        //    or `X_Forwarded_For` mean two things at once (a smuggling and spoofing vector): refuse them.
        if let name = head.headers.first(where: { $0.name.utf8.contains(UInt8(ascii: "_")) })?.name {
            return .badRequest("header names with underscores are refused (\(name.prefix(64)))")
        }
        // 2. RFC 9110 §7.4 and §15.5.20: the Host must name this listener. A page that rebinds its own DNS name
        //    to 127.0.0.1 reaches a loopback port with its own name in Host; it gets 421, never the credential.
        if let host, !hostNamesListener(host, route: route) {
            return .misdirected(host: host.authority)
        }
        // 3. Browsers announce cross-origin requests (RFC 6454 Origin, Fetch metadata); legacy tools never do.
        if isFromBrowser(head.headers) {
            return .callerRefused(
                code: "browser_request_refused", message: "requests from web pages may not use the Covata credential")
        }
        // 4. RFC 9110 §10.1.1: an expectation other than 100-continue cannot be met (HTTP/1.0 ignores Expect).
        if head.version == .http1_1,
            head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() != "100-continue" })
        {
            return .expectationFailed
        }
        // 5. The route's shared secret, when configured: exactly one header with exactly the value.
        if let required = route.access.requiredHeader {
            let values = head.headers[canonicalForm: required.name]
            guard values.count == 1, constantTimeEqual(String(values[0]), required.value.value) else {
                return .callerRefused(
                    code: "caller_not_allowed", message: "this route requires the \(required.name) header")
            }
        }
        // 6. RFC 9112 §3.2: a request-target carries no fragment (libcurl would drop it silently).
        if pathAndQuery.utf8.contains(UInt8(ascii: "#")) {
            return .badRequest("a request-target has no fragment (#)")
        }
        // 7. RFC 3986 §5.2.4: dot segments, and encodings an upstream might decode into them, would leave the
        //    route's base path; refuse rather than normalise (a second parser may normalise differently).
        // Split on the byte: walking Characters (grapheme clusters) cost more than all the other checks together.
        let path = pathAndQuery.utf8.firstIndex(of: UInt8(ascii: "?")).map { pathAndQuery[..<$0] } ?? pathAndQuery[...]
        if let problem = PathSafety.problem(in: path) { return .badRequest(problem) }
        // 8. The route's allow-lists, when configured.
        if let methods = route.access.methods, !methods.contains(head.method.rawValue) {
            return .methodNotAllowedHere(allowed: methods.sorted())
        }
        if let prefixes = route.access.pathPrefixes, !prefixes.contains(where: { PathSafety.path(path, isUnder: $0) }) {
            let allowed = prefixes.joined(separator: ", ")
            return .callerRefused(code: "path_not_allowed", message: "this route forwards only \(allowed)")
        }
        return nil
    }

    /// Loopback names, the upstream's own host and the route's `hosts`; on an opted-in remote listener also its
    /// own address. Unix sockets are out of a browser's reach, so any Host goes there.
    static func hostNamesListener(_ host: HostField, route: RouteConfig) -> Bool {
        hostNames(host, listen: route.listen, upstreamHost: route.upstream.host, hosts: route.hosts)
    }

    /// Whether a Host value names a listener on `listen` (see below); a value that is not `name[:port]` names
    /// nothing.
    static func hostNames(_ value: String, listen: ListenAddress) -> Bool {
        guard case .tcp = listen else { return true }
        return HostField(value).map { hostNames($0, listen: listen) } ?? false
    }

    /// Whether a Host names a listener on `listen`: a loopback name, the listener's own host, or one of the other
    /// names given (the admin listener has none).
    static func hostNames(_ parsed: HostField, listen: ListenAddress, upstreamHost: String? = nil, hosts: [String] = [])
        -> Bool
    {
        guard case .tcp(let listenHost, _) = listen else { return true }
        // The usual answer first, without copies: the request path runs this on every request.
        if HostName.isLoopback(parsed.name) { return true }
        let host = parsed.name.lowercased()
        return host == upstreamHost?.lowercased() || hosts.contains { $0.lowercased() == host }
            || host == listenHost.lowercased()
    }

    /// A web page's request: it carries Origin or Fetch metadata naming another site.
    static func isFromBrowser(_ headers: HTTPHeaders) -> Bool {
        headers.contains(name: "origin")
            || headers[canonicalForm: "sec-fetch-site"].contains(where: { $0.lowercased() != "none" })
    }

    /// Compares without stopping at the first difference, so timing does not reveal how much of a guess was right.
    static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}

/// A Host field value as RFC 9110 §7.2 and RFC 3986 §3.2.2 allow it: a registered name (unreserved characters) or a
/// bracketed IPv6 literal, then an optional decimal port. Anything else (`localhost:@evil.example`,
/// `localhost:evil.com`, `[::1]evil.com`) is refused, whatever the HTTP version, and what the proxy writes back (a
/// rewritten redirect) is built from these parts, never from the raw field.
struct HostField {
    /// The name without brackets: `localhost`, `127.0.0.1`, `::1`.
    let name: String
    let port: Int?
    private let bracketed: Bool

    init?(_ value: String) {
        var value = value
        // One pass over the bytes: this runs for every request (a walk over String's UTF-8 view with its index
        // arithmetic cost ten times as much).
        guard let (start, end, port, bracketed) = value.withUTF8({ Self.scan($0) }) else { return nil }
        name = value.withUTF8 { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<end]), as: UTF8.self) }
        self.port = port
        self.bracketed = bracketed
    }

    /// The name's byte range, the port, and whether the name was bracketed; nil for anything but `name[:port]`.
    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> (Int, Int, Int?, Bool)? {
        guard let first = bytes.first else { return nil }
        var index = 0
        let start: Int
        let end: Int
        var colons = 0
        if first == UInt8(ascii: "[") {
            // An IPv6 literal: hex digits, colons and (for an embedded IPv4 address) dots; no zone identifier.
            index = 1
            while index < bytes.count, bytes[index] != UInt8(ascii: "]") {
                let byte = bytes[index]
                guard byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".") || byte.isHexDigit else { return nil }
                if byte == UInt8(ascii: ":") { colons += 1 }
                index += 1
            }
            guard index < bytes.count, index > 1, colons > 0 else { return nil }
            (start, end) = (1, index)
            index += 1
        } else {
            while index < bytes.count, bytes[index] != UInt8(ascii: ":") {
                guard bytes[index].isUnreserved else { return nil }
                index += 1
            }
            guard index > 0 else { return nil }
            (start, end) = (0, index)
        }
        guard index < bytes.count else { return (start, end, nil, first == UInt8(ascii: "[")) }
        guard bytes[index] == UInt8(ascii: ":") else { return nil }
        let digits = bytes.count - index - 1
        guard (1...5).contains(digits) else { return nil }
        var port = 0
        for byte in bytes[(index + 1)...] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            port = port * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard port <= 65535 else { return nil }
        return (start, end, port, first == UInt8(ascii: "["))
    }

    /// `name[:port]`, rebuilt from the parsed parts.
    var authority: String {
        let host = bracketed ? "[\(name)]" : name
        return port.map { "\(host):\($0)" } ?? host
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (48...57).contains(self) || (65...70).contains(self) || (97...102).contains(self)
    }

    /// RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~".
    fileprivate var isUnreserved: Bool {
        (48...57).contains(self) || (65...90).contains(self) || (97...122).contains(self) || self == 45 || self == 46
            || self == 95 || self == 126
    }
}
