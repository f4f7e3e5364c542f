import CurlClient
import ProxyConfiguration
import ProxySupport
import Synchronization

/// Answers that point back at Covata point at the proxy: absolute URLs in `Location`, `Content-Location` and the URI
/// references of `Link` that lie under any route's upstream are rewritten to the address a client uses for that
/// route's listener, as nginx's `proxy_redirect default` and Apache's `ProxyPassReverse` do. Without it a tool that
/// follows a redirect calls Covata directly, without a token, and gets 401.
///
/// Only those three fields change, only in the URL's origin and base path; bodies are never rewritten. Relative
/// references and foreign origins (signed storage URLs, identity providers) stay as they are.
struct RedirectRewriter: Sendable {
    /// One route as a rewrite target.
    struct Target: Sendable {
        var scheme: String
        /// Lower-cased, without brackets.
        var host: String
        /// Explicit, defaults filled in.
        var port: Int
        /// Without a trailing slash; empty for the root.
        var basePath: String
        /// Where clients reach the route: `host:port` of its TCP listener (brackets for IPv6), or nil for a unix
        /// socket, which no URL can name.
        var listener: String?
        /// Whether the listener's host is unspecified (0.0.0.0, ::): clients use the name they used for this proxy.
        var wildcard: Bool
        var name: String

        init(_ route: RouteConfig, bound: ListenAddress) {
            scheme = route.upstream.scheme
            host = route.upstream.host.lowercased()
            port = route.upstream.port ?? (route.upstream.scheme == "https" ? 443 : 80)
            basePath = route.upstream.basePath
            name = route.listen.description
            switch bound {
            case .unix:
                listener = nil
                wildcard = false
            case .tcp(let host, _):
                listener = bound.description
                wildcard = host == "0.0.0.0" || host == "::"
            }
        }
    }

    let targets: [Target]
    /// Target indices, longest base path first: after the request's own route, the most specific match wins.
    private let bySpecificity: [Int]

    init(targets: [Target]) {
        self.targets = targets
        bySpecificity = targets.indices.sorted { targets[$0].basePath.utf8.count > targets[$1].basePath.utf8.count }
    }

    /// What a URL became, or why it stayed.
    enum Outcome: Equatable {
        case unchanged
        case rewritten(String)
        /// It points at a route that listens on a unix socket: left as it is.
        case unixRoute(name: String)
    }

    /// Rewrites one URI reference. `own` is the index of the route the request came through, `clientHost` the Host
    /// the client sent when that route accepts it (else nil: the listen address is used).
    func rewrite(_ reference: Substring, own: Int, clientHost: String?) -> Outcome {
        guard let url = AbsoluteURL(reference) else { return .unchanged }
        // The route the request came through first, then the longest base path.
        for index in [own] + bySpecificity.filter({ $0 != own }) {
            let target = targets[index]
            guard url.scheme == target.scheme, url.host == target.host, url.port == target.port,
                let rest = url.pathAndRest(under: target.basePath)
            else { continue }
            guard let listener = target.listener else { return .unixRoute(name: target.name) }
            let authority: String
            if index == own, let clientHost {
                authority = clientHost
            } else if target.wildcard, let clientHost {
                authority = Self.replacingPort(of: clientHost, with: listener)
            } else {
                authority = listener
            }
            return .rewritten("http://\(authority)\(rest)")
        }
        return .unchanged
    }

    /// `Link: <url>; rel="next", <url>; rel="prev"`: each `<…>` reference rewritten on its own.
    func rewriteLink(_ value: Substring, own: Int, clientHost: String?, unixRoutes: inout [String]) -> String? {
        var out = ""
        var changed = false
        var rest = value
        while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
            out += rest[..<open]
            let reference = rest[rest.index(after: open)..<close]
            switch rewrite(reference, own: own, clientHost: clientHost) {
            case .rewritten(let url):
                out += "<\(url)>"
                changed = true
            case .unixRoute(let name):
                unixRoutes.append(name)
                out += rest[open...close]
            case .unchanged:
                out += rest[open...close]
            }
            rest = rest[rest.index(after: close)...]
        }
        return changed ? out + rest : nil
    }

    /// The client's host name with the other route's port.
    private static func replacingPort(of clientHost: String, with listener: String) -> String {
        let port = listener.split(separator: ":").last.map(String.init) ?? ""
        var name = Substring(clientHost)
        if name.hasPrefix("["), let close = name.firstIndex(of: "]") {
            name = name[...close]
        } else if let colon = name.lastIndex(of: ":") {
            name = name[..<colon]
        }
        return "\(name):\(port)"
    }

    /// Whether an answer has any of the three fields: names are compared length first, so the usual answer without
    /// them costs a few compares.
    static func mentionsURLs(_ fields: HeaderFields) -> Bool {
        var mentions = false
        // The names as lent raw, lengths first: this runs for every answer, and most names are none of the three.
        fields.forEach { name, _ in
            guard !mentions else { return }
            switch name.count {
            case 4: mentions = name.equalsIgnoringASCIICase("link")
            case 8: mentions = name.equalsIgnoringASCIICase("location")
            case 16: mentions = name.equalsIgnoringASCIICase("content-location")
            default: break
            }
        }
        return mentions
    }

    /// The three fields, rewritten in place; routes on unix sockets that a URL pointed at are added to `unixRoutes`.
    func rewrite(_ fields: inout HeaderFields, own: Int, clientHost: String?, unixRoutes: inout [String]) {
        fields.rewriteValues { name, value in
            let text = Substring(String(decoding: value, as: UTF8.self))
            if name.equalsIgnoringASCIICase("link") {
                return rewriteLink(text, own: own, clientHost: clientHost, unixRoutes: &unixRoutes).map {
                    Array($0.utf8)
                }
            }
            guard name.equalsIgnoringASCIICase("location") || name.equalsIgnoringASCIICase("content-location") else {
                return nil
            }
            switch rewrite(text.trimmingSpacesAndTabs(), own: own, clientHost: clientHost) {
            case .rewritten(let url): return Array(url.utf8)
            case .unixRoute(let name):
                unixRoutes.append(name)
                return nil
            case .unchanged: return nil
            }
        }
    }
}

/// The rewriter all routes share. It is known once every listener is bound (a port-0 listener's port comes from
/// binding); an answer before that is not rewritten.
final class SharedRedirects: Sendable {
    private let rewriter = Mutex<RedirectRewriter?>(nil)
    private let warned = Mutex<Set<String>>([])

    var current: RedirectRewriter? { rewriter.withLock { $0 } }

    func set(_ new: RedirectRewriter) { rewriter.withLock { $0 = new } }

    /// True the first time a route is named: a URL that points at a unix-socket route is logged once per route.
    func firstWarning(for route: String) -> Bool { warned.withLock { $0.insert(route).inserted } }
}

/// Just enough of an absolute http(s) URL to compare its origin and path with an upstream's.
private struct AbsoluteURL {
    var scheme: String
    var host: String
    var port: Int
    /// From the path on: path, query and fragment as they were.
    var rest: Substring

    init?(_ text: Substring) {
        let lower = text.prefix(8).lowercased()
        let scheme: String
        if lower.hasPrefix("https://") {
            scheme = "https"
        } else if lower.hasPrefix("http://") {
            scheme = "http"
        } else {
            return nil
        }
        let afterScheme = text.dropFirst(scheme.count + 3)
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var host = authority
        var port = scheme == "https" ? 443 : 80
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let number = Int(after.dropFirst()) else { return nil }
                port = number
            } else if !after.isEmpty {
                return nil
            }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.lastIndex(of: ":") {
            guard let number = Int(host[host.index(after: colon)...]) else { return nil }
            port = number
            host = host[..<colon]
        }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
        self.rest = afterScheme[authorityEnd...]
    }

    /// What follows `basePath` when the path lies under it on a segment boundary, else nil; always starts with `/`.
    func pathAndRest(under basePath: String) -> String? {
        guard rest.hasPrefix(basePath) else { return nil }
        let after = rest.dropFirst(basePath.count)
        if after.hasPrefix("/") { return String(after) }
        guard after.isEmpty || after.hasPrefix("?") || after.hasPrefix("#") else { return nil }
        return "/" + after
    }
}
