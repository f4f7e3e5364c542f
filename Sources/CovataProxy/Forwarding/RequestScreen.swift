import CurlClient
import NIOHTTP1
import ProxyConfiguration
import ProxySupport

/// Who may use the credential, and which requests may carry it: ordered checks run on every request head before a
/// token is fetched. The first failing step answers; nothing reaches Covata.
enum RequestScreen {
    /// The checks a request passes before it may go upstream; the first that fails answers. Returns the path and
    /// query to append to the upstream's base once the target is understood (also for a later refusal: the access
    /// log names it).
    static func screen(
        _ head: HTTPRequestHead, fields: RequestFields, framing: Result<CurlRequestBody, ProxyError>,
        route: RouteConfig
    ) -> (pathAndQuery: String?, refusal: ProxyError?) {
        // Never a tunnel: this is not a forward proxy. The answer closes the connection (the request decoder reads
        // nothing after a CONNECT head).
        if head.method == .CONNECT { return (nil, .connectNotSupported) }
        // TRACE would echo the request back, and with it the injected credential (RFC 9110 §9.3.8).
        if head.method == .TRACE { return (nil, .methodNotAllowed("TRACE is not forwarded")) }
        // RFC 9112 §3.2: exactly one Host in an HTTP/1.1 request, at most one in HTTP/1.0, and either way a
        // `name[:port]` (RFC 9110 §7.2): what is rewritten into a redirect is built from it.
        guard case .valid(let host) = Self.host(fields, required: head.version == .http1_1) else {
            return (
                nil,
                .badRequest(
                    "a request needs exactly one Host header, a host name or IP literal with an optional port")
            )
        }
        let pathAndQuery: String
        switch RequestTarget.resolve(head.uri, route: route) {
        case .failure(let error): return (nil, error)
        case .success(let resolved): pathAndQuery = resolved
        }
        if let refusal = check(head, fields: fields, host: host, pathAndQuery: pathAndQuery, route: route) {
            return (pathAndQuery, refusal)
        }
        if case .failure(let error) = framing { return (pathAndQuery, error) }
        return (pathAndQuery, nil)
    }

    /// `host`: the request's Host, already parsed (nil when it has none).
    static func check(
        _ head: HTTPRequestHead, fields: RequestFields, host: HostField?, pathAndQuery: String, route: RouteConfig
    ) -> ProxyError? {
        // 1. RFC 9110 §5.1 allows `_` in field names, but proxies that fold `_` into `-` let `Transfer_Encoding`
        //    or `X_Forwarded_For` mean two things at once (a smuggling and spoofing vector): refuse them.
        if let name = fields.underscoreName {
            return .badRequest("header names with underscores are refused (\(name.prefix(64)))")
        }
        // 2. RFC 9110 §7.4 and §15.5.20: the Host must name this listener. A page that rebinds its own DNS name
        //    to 127.0.0.1 reaches a loopback port with its own name in Host; it gets 421, never the credential.
        if let host, !hostNamesListener(host, route: route) {
            return .misdirected(host: host.authority)
        }
        // 3. Browsers announce cross-origin requests (RFC 6454 Origin, Fetch metadata); legacy tools never do.
        if isFromBrowser(head.headers, fields: fields) {
            return .callerRefused(
                code: "browser_request_refused", message: "requests from web pages may not use the Covata credential")
        }
        // 4. RFC 9110 §10.1.1: an expectation other than 100-continue cannot be met (HTTP/1.0 ignores Expect).
        if head.version == .http1_1, fields.has(.expect),
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
        if pathAndQuery.containsByte(UInt8(ascii: "#")) {
            return .badRequest("a request-target has no fragment (#)")
        }
        // 7. RFC 3986 §5.2.4: dot segments, and encodings an upstream might decode into them, would leave the
        //    route's base path; refuse rather than normalise (a second parser may normalise differently).
        // Split on the byte: walking Characters (grapheme clusters) cost more than all the other checks together.
        let path = pathAndQuery.firstIndex(ofByte: UInt8(ascii: "?")).map { pathAndQuery[..<$0] } ?? pathAndQuery[...]
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

    /// The request's Host, parsed once for every check that needs it.
    private enum HostCheck {
        /// At most one Host, a valid one (nil: none, allowed in HTTP/1.0).
        case valid(HostField?)
        case invalid
    }

    private static func host(_ fields: RequestFields, required: Bool) -> HostCheck {
        guard fields.hostCount <= 1 else { return .invalid }
        guard let found = fields.host else { return required ? .invalid : .valid(nil) }
        return HostField(found).map { .valid($0) } ?? .invalid
    }

    /// RFC 9112 §6.3: the framing the client used decides how the body reaches curl. The field's presence counts,
    /// whatever it lists (an empty Transfer-Encoding lists no codings, and chunked is not last in it).
    static func bodyFraming(
        _ head: HTTPRequestHead, fields: RequestFields, maxBytes: Int64
    ) -> Result<CurlRequestBody, ProxyError> {
        // The usual request, a GET or HEAD: neither field.
        if !fields.has(.contentLength), !fields.has(.transferEncoding) { return .success(.none) }
        if fields.has(.transferEncoding) {
            // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
            guard head.version == .http1_1 else {
                return .failure(.badRequest("Transfer-Encoding in an HTTP/1.0 request"))
            }
            // §6.3 rule 3: both fields may be an attempt at request smuggling; refused rather than guessed.
            guard !fields.has(.contentLength) else {
                return .failure(.badRequest("both Transfer-Encoding and Content-Length"))
            }
            let codings = head.headers[canonicalForm: "transfer-encoding"].map { $0.lowercased() }
            // §6.3 rule 4: without chunked last, the body's length cannot be known.
            guard codings.last == "chunked" else {
                return .failure(.badRequest("Transfer-Encoding without chunked last"))
            }
            // §6.1: chunked is applied once; applied twice, two parsers may unwrap it a different number of times.
            guard !codings.dropLast().contains("chunked") else {
                return .failure(.badRequest("Transfer-Encoding with chunked more than once"))
            }
            guard codings == ["chunked"] else {
                return .failure(.notImplemented("Transfer-Encoding other than chunked"))
            }
            return .success(.stream(length: nil))
        }
        // §6.3 rule 5: one field, one run of digits. RFC 9110 §8.6 lets a recipient accept a value repeated (`5, 5`,
        // or the field twice); refused, as llhttp refused it before our decoder: no client needs it, and a list is
        // where parsers disagree (an empty element, `0,`, read as 0 by one and as invalid by another).
        var lengths = head.headers.lazy.filter { $0.name.equalsIgnoringASCIICase("content-length") }.makeIterator()
        guard let value = lengths.next()?.value, lengths.next() == nil, !value.isEmpty,
            value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let length = Int64(value)
        else { return .failure(.badRequest("invalid Content-Length")) }
        guard length <= maxBytes else { return .failure(.payloadTooLarge) }
        return .success(length == 0 ? .bytes([]) : .stream(length: length))
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
    static func isFromBrowser(_ headers: HTTPHeaders, fields: RequestFields) -> Bool {
        fields.has(.origin)
            || (fields.has(.secFetchSite)
                && headers[canonicalForm: "sec-fetch-site"].contains(where: { $0.lowercased() != "none" }))
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

/// What the checks need to know of a request's fields, found in one pass over them: which of the fields they read
/// are there at all, the Host, and a name with an underscore. A search per field was eleven passes a request, most
/// for fields a tool never sends; a field that is there is still read by NIO's own accessors, as before.
struct RequestFields: Equatable {
    struct Names: OptionSet {
        let rawValue: UInt8
        static let contentLength = Names(rawValue: 1 << 0)
        static let transferEncoding = Names(rawValue: 1 << 1)
        static let expect = Names(rawValue: 1 << 2)
        static let origin = Names(rawValue: 1 << 3)
        static let secFetchSite = Names(rawValue: 1 << 4)
        static let upgrade = Names(rawValue: 1 << 5)
        static let connection = Names(rawValue: 1 << 6)
    }

    private var present: Names = []
    /// How many Host fields, and the first one's value.
    private(set) var hostCount = 0
    private(set) var host: String?
    /// The first field name with an underscore (see `RequestScreen.check`, step 1).
    private(set) var underscoreName: String?

    init(_ headers: HTTPHeaders) {
        for (name, value) in headers {
            if name.equalsIgnoringASCIICase("host") {
                hostCount += 1
                if host == nil { host = value }
            } else if let known = Self.known(name) {
                present.insert(known)
            }
            if underscoreName == nil, name.containsByte(UInt8(ascii: "_")) { underscoreName = name }
        }
    }

    func has(_ name: Names) -> Bool { present.contains(name) }

    /// Compared by length first: most names are none of these, and most lengths are no one's.
    private static func known(_ name: String) -> Names? {
        switch name.utf8.count {
        case 6:
            if name.equalsIgnoringASCIICase("expect") { return .expect }
            if name.equalsIgnoringASCIICase("origin") { return .origin }
        case 7:
            if name.equalsIgnoringASCIICase("upgrade") { return .upgrade }
        case 10:
            if name.equalsIgnoringASCIICase("connection") { return .connection }
        case 14:
            if name.equalsIgnoringASCIICase("content-length") { return .contentLength }
            if name.equalsIgnoringASCIICase("sec-fetch-site") { return .secFetchSite }
        case 17:
            if name.equalsIgnoringASCIICase("transfer-encoding") { return .transferEncoding }
        default:
            break
        }
        return nil
    }
}
