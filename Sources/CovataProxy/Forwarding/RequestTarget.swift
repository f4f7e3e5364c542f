import ProxyConfiguration
/// Where a request goes, from its request-target (RFC 9112 §3.2).
enum RequestTarget {
    /// The path and query to append to the route's base path.
    static func resolve(_ target: String, route: RouteConfig) -> Result<String, ProxyError> {
        // origin-form: the usual case for tools given a base URL (its first byte: `hasPrefix` compares as text).
        if target.utf8.first == UInt8(ascii: "/") { return .success(target) }
        // absolute-form: tools that honour http_proxy. Forwarded only to this route's own upstream.
        let lower = target.lowercased()
        guard let schemeEnd = target.range(of: "://"), lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            return .failure(.badRequest("expected an origin-form (/path) or absolute-form (http://host/path) target"))
        }
        let scheme = String(lower[..<schemeEnd.lowerBound])
        let rest = target[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var pathAndQuery = String(rest[authorityEnd...])
        if pathAndQuery.isEmpty || pathAndQuery.hasPrefix("?") { pathAndQuery = "/" + pathAndQuery }
        guard !authority.isEmpty, !authority.contains("@") else {
            return .failure(.badRequest("absolute-form target without a plain host"))
        }
        var host = Substring(authority)
        var port: Int?
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let number = Int(authority[authority.index(after: colon)...]) else {
                return .failure(.badRequest("invalid port in the request target"))
            }
            host = authority[..<colon]
            port = number
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard route.answersFor(scheme: scheme, host: String(host), port: port) else {
            return .failure(.forbiddenHost(allowed: [route.upstream.host] + route.hosts))
        }
        return .success(pathAndQuery)
    }
}
