import CurlClient
import NIOHTTP1
import ProxyConfiguration
import ProxySupport

/// Which headers cross the proxy, as ordered steps. The order matters: the Bearer header is added last, after
/// every removal, so nothing a client sends can remove or replace it.
enum HeaderPolicy {
    /// Always hop-by-hop, named or not (RFC 9110 §7.6.1 "SHOULD remove", §11.7.2 Proxy-Authorization,
    /// RFC 9110 §6.6.2 Trailer, and the pre-standard Keep-Alive and Proxy-Connection).
    static let hopByHop: NameList = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authorization", "proxy-authenticate",
    ]
    /// Redone for the upstream by curl and by us: Host, the framing, and Expect (steps 3 to 5 below).
    static let redoneHere: NameList = ["host", "content-length", "expect"]
    /// Headers that make some frameworks act on another method or path than the request line's: forwarded, they
    /// would let a client around a route's `allowMethods` and `allowPaths` (step 7 below).
    static let overrides: NameList = [
        "x-http-method-override", "x-method-override", "x-http-method", "x-original-url", "x-rewrite-url",
    ]
    /// Connection options that name nothing forwardable (see `connectionOptions`).
    static let nothingNamed: NameList = ["keep-alive", "close"]

    /// The header lines to send upstream for a client request; `callerProof` is the route's `requireHeader`.
    static func upstreamRequestHeaders(
        _ headers: HTTPHeaders, authorization: Secret, callerProof: String? = nil
    ) -> [(name: String, value: String)] {
        // 1. RFC 9110 §7.6.1: every option named in Connection is hop-by-hop too.
        let named = connectionOptions(headers)
        var out: [(name: String, value: String)] = []
        out.reserveCapacity(headers.count + 1)
        for (name, value) in headers {
            // The name's own UTF-8, looked at once for every step (each step reaching it anew cost more than the
            // steps).
            let forward =
                name.utf8.withContiguousStorageIfAvailable {
                    isForwardable($0, named: named, callerProof: callerProof)
                } ?? isForwardable(name.utf8, named: named, callerProof: callerProof)
            if forward { out.append((name, value)) }
        }
        // 8. RFC 6750 §2.1: the credential, added last.
        out.append(("Authorization", authorization.value))
        return out
    }

    /// Steps 2 to 7 for one client field's name.
    private static func isForwardable<Name: Collection<UInt8>>(_ name: Name, named: [String], callerProof: String?)
        -> Bool
    {
        // 2. RFC 9110 §7.6.1: drop Connection, what it names, and the fixed hop-by-hop list.
        if isHopByHop(name, named: named) { return false }
        // 3. RFC 9110 §7.2: Host is the upstream's; curl writes it from the URL.
        // 4. RFC 9112 §6.2-6.3: framing is re-done by curl from the body length we give it.
        // 5. RFC 9110 §10.1.1: Expect is answered here, not forwarded.
        if isListed(name, in: redoneHere) { return false }
        // 6. The client's own Authorization never reaches Covata: we are the user agent toward it
        //    (RFC 9110 §11.6.2 binds proxies, and this gateway replaces the credential by design).
        if name.equalsIgnoringASCIICase("authorization") { return false }
        // 7. RFC 9700 §4.13: a proxy sanitises security-relevant headers. Forwarding headers are the client's
        //    claims, not ours (RFC 7239 §8.1), and the caller's proof of access is for this proxy only.
        if name.equalsIgnoringASCIICase("forwarded") || isForwardedFamily(name) { return false }
        //    Method and URL overrides, always: what the upstream acts on must be what the route's checks saw,
        //    and no Covata API needs them.
        if (name.first ?? 0) | 0x20 == UInt8(ascii: "x"), isListed(name, in: overrides) { return false }
        if let callerProof, name.equalsIgnoringASCIICase(callerProof) { return false }
        return true
    }

    /// The header fields to send the client for an upstream response, as the bytes the upstream sent; the framing
    /// for the client is added by `ResponseEncoder` (curl has already undone the upstream's).
    static func clientResponseFields(_ head: CurlResponseHead) -> HeaderFields {
        // 1. RFC 9110 §7.6.1: options named in Connection, plus the fixed hop-by-hop list (which has
        //    Transfer-Encoding: RFC 9112 §6.1 makes it a property of one connection).
        let named = connectionOptions(head.fields)
        var out = head.fields
        out.removeAll { isHopByHop($0, named: named) }
        // 2. Everything else passes unchanged and in order, including Content-Encoding and WWW-Authenticate
        //    (RFC 9110 §11.6.1: a proxy MUST NOT modify WWW-Authenticate).
        return out
    }

    /// Lower-cased tokens listed in every Connection header, but for `keep-alive` and `close`: they name nothing
    /// that could be forwarded (Keep-Alive is on the fixed list, Close is reserved by RFC 9110 §18.4), and skipping
    /// them keeps the usual answer (`Connection: keep-alive`, from every nginx) free of allocations.
    static func connectionOptions<Fields: Sequence>(_ headers: Fields) -> [String]
    where Fields.Element == (name: String, value: String) {
        var options: [String] = []
        for (name, value) in headers where name.equalsIgnoringASCIICase("connection") {
            // The usual value, one option that names nothing, without splitting it.
            if isListed(value, in: nothingNamed) { continue }
            var rest = Substring(value)
            while !rest.isEmpty {
                let comma = rest.utf8.firstIndex(of: UInt8(ascii: ",")) ?? rest.endIndex
                let token = rest[..<comma].trimmingSpacesAndTabs()
                rest = rest[comma...].dropFirst()
                if token.isEmpty || isListed(token, in: nothingNamed) { continue }
                options.append(token.lowercased())
            }
        }
        return options
    }

    /// `connectionOptions` of an upstream answer's fields; the usual `Connection: keep-alive` costs no allocation.
    static func connectionOptions(_ fields: HeaderFields) -> [String] {
        var named: [(name: String, value: String)] = []
        fields.forEach { name, value in
            guard name.equalsIgnoringASCIICase("connection"), !isListed(value, in: nothingNamed) else { return }
            named.append(("connection", String(decoding: value, as: UTF8.self)))
        }
        return named.isEmpty ? [] : connectionOptions(named)
    }

    private static func isHopByHop(_ name: String, named: [String]) -> Bool {
        isHopByHop(name.utf8, named: named)
    }

    private static func isHopByHop<Name: Collection<UInt8>>(_ name: Name, named: [String]) -> Bool {
        isListed(name, in: hopByHop) || named.contains { name.equalsIgnoringASCIICase($0) }
    }

    /// Whether `name` is one of `list`'s, ignoring ASCII case.
    private static func isListed<Name: StringProtocol>(_ name: Name, in list: NameList) -> Bool {
        isListed(name.utf8, in: list)
    }

    private static func isListed<Name: Collection<UInt8>>(_ name: Name, in list: NameList) -> Bool {
        // Most names have a length no entry has: one bit test, and the list's strings are not touched.
        let count = name.count
        guard list.lengths >> UInt64(min(count, 63)) & 1 == 1 else { return false }
        return list.names.contains { name.equalsIgnoringASCIICase($0) }
    }

    /// A fixed list of lowercase names, asked about every field of every message, with the lengths its names have
    /// (bit n: a name of n bytes; bit 63: 63 or more).
    struct NameList: ExpressibleByArrayLiteral, Sendable {
        let names: [String]
        let lengths: UInt64

        init(arrayLiteral names: String...) {
            self.names = names
            lengths = names.reduce(0) { $0 | 1 << UInt64(min($1.utf8.count, 63)) }
        }
    }

    /// `X-Forwarded-For`, `X-Forwarded-Host`, `X-Forwarded-Proto` and the rest of the family.
    private static func isForwardedFamily<Name: Collection<UInt8>>(_ name: Name) -> Bool {
        let prefix = "x-forwarded-"
        return name.count >= prefix.utf8.count && name.prefix(prefix.utf8.count).equalsIgnoringASCIICase(prefix)
    }
}
