import Foundation

/// An upstream base URL split into what the forwarding path needs. A base path is kept as a prefix.
public struct UpstreamURL: Sendable, Equatable, CustomStringConvertible {
    public var scheme: String
    public var host: String
    public var port: Int?
    /// The base path without a trailing slash; empty for the root.
    public var basePath: String

    /// Parses an http(s) URL; plain http off loopback needs `allowPlainHTTP`.
    static func parse(_ text: String, keyPath: String, allowPlainHTTP: Bool) throws(ConfigError) -> UpstreamURL {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            var host = components.host, !host.isEmpty
        else {
            throw ConfigError(keyPath, "expected an absolute http:// or https:// URL, found \"\(text)\"")
        }
        guard scheme == "https" || scheme == "http" else {
            throw ConfigError(keyPath, "expected an http:// or https:// URL, found scheme \"\(scheme)\"")
        }
        guard components.query == nil, components.fragment == nil, components.user == nil else {
            throw ConfigError(keyPath, "expected a URL without query, fragment or user info")
        }
        if scheme == "http", !HostName.isLoopback(host), !allowPlainHTTP {
            throw ConfigError(
                keyPath,
                "plain http:// to a non-loopback host sends the token unencrypted; use https:// or set allowPlainHTTP")
        }
        // An IPv6 literal is kept bare (`::1`); `origin` brackets it again, once.
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var basePath = components.percentEncodedPath
        while basePath.hasSuffix("/") { basePath.removeLast() }
        return UpstreamURL(scheme: scheme, host: host, port: components.port, basePath: basePath)
    }

    /// `scheme://host[:port]`, the part curl needs before the path.
    public var origin: String {
        let hostPart = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
        return port.map { "\(scheme)://\(hostPart):\($0)" } ?? "\(scheme)://\(hostPart)"
    }

    public var description: String { origin + basePath }
}
