import Foundation
import ProxySupport

// A route: where it listens, where it forwards, and who may use it
// (parsing: ProxyConfig+Loading.swift, ProxyConfig+Access.swift).

/// One listener and the upstream it forwards to, with who may use it.
public struct RouteConfig: Sendable, Equatable {
    public var listen: ListenAddress
    public var upstream: UpstreamURL
    /// Further host names this route answers for as a forward proxy (besides its upstream's own host).
    public var hosts: [String] = []
    /// Who may use the credential on this route beyond reaching the listener.
    public var access = RouteAccess()
    /// Absolute URLs in answers' Location, Content-Location and Link that point at a route's upstream are rewritten
    /// to point at that route's listener (see `RedirectRewriter`).
    public var rewriteRedirects = true

    /// Whether an absolute-form request's authority names this route's upstream (see the README's mapping):
    /// the host is the upstream's or one of `hosts`, and a port other than the request scheme's default is the
    /// upstream's own port.
    package func answersFor(scheme: String, host: String, port: Int?) -> Bool {
        let host = host.lowercased()
        guard host == upstream.host.lowercased() || hosts.contains(where: { $0.lowercased() == host }) else {
            return false
        }
        // An explicit default port of the request's scheme means the same as none.
        guard let port, port != (scheme == "https" ? 443 : 80) else { return true }
        return port == (upstream.port ?? (upstream.scheme == "https" ? 443 : 80))
    }
}

/// A route's caller checks: everything optional except the unix socket's mode.
public struct RouteAccess: Sendable, Equatable {
    /// A header every request must carry with this exact value (removed before forwarding).
    public var requiredHeader: RequiredHeader?
    /// Upper-case methods allowed; nil allows all (TRACE and CONNECT are refused regardless).
    public var methods: Set<String>?
    /// Path prefixes allowed (matched on whole segments); nil allows all.
    public var pathPrefixes: [String]?
    /// File mode of a unix socket listener: who on this machine may connect.
    public var socketMode: Int = 0o600

    public init() {}
}

/// `routes[].requireHeader`: a shared secret that proves the caller is one of ours.
public struct RequiredHeader: Sendable, Equatable {
    /// Lower-cased header name.
    public var name: String
    public var value: Secret
}

/// Where a listener binds: a TCP host and port, or a unix socket path.
public enum ListenAddress: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// Parses `host:port`, `[v6]:port` or `unix:/path`.
    static func parse(_ text: String, keyPath: String) throws(ConfigError) -> ListenAddress {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard path.hasPrefix("/") else { throw ConfigError(keyPath, "expected unix:/absolute/path") }
            return .unix(path: path)
        }
        guard text.contains(":") else {
            throw ConfigError(keyPath, "expected host:port or unix:/path, found \"\(text)\"")
        }
        // The same grammar as a Host field: a name, an IPv4 address or a bracketed IPv6 one, and a decimal port.
        guard let parsed = HostField(text), let port = parsed.port else {
            throw ConfigError(keyPath, "expected host:port with a port from 0 to 65535, found \"\(text)\"")
        }
        return .tcp(host: parsed.name, port: port)
    }

    /// Loopback and unix sockets are reachable only from this machine (or pod).
    public var isLocalOnly: Bool {
        switch self {
        case .unix: true
        case .tcp(let host, _): HostName.isLoopback(host)
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}

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

/// A URL of the OAuth service (the token endpoint, the authorize page), parsed once by `UpstreamURL`'s rules and
/// kept as written: curl is given it, and the token state file records it.
public struct EndpointURL: Sendable, Equatable, CustomStringConvertible {
    public let text: String

    static func parse(_ text: String, keyPath: String, allowPlainHTTP: Bool) throws(ConfigError) -> EndpointURL {
        _ = try UpstreamURL.parse(text, keyPath: keyPath, allowPlainHTTP: allowPlainHTTP)
        return EndpointURL(text: text)
    }

    /// For code that builds a config itself (tests, tools): the same rules, plain http allowed.
    public init(parsing text: String) throws(ConfigError) {
        self = try Self.parse(text, keyPath: "url", allowPlainHTTP: true)
    }

    private init(text: String) { self.text = text }

    public var description: String { text }
}

/// Host-name facts the config checks need.
package enum HostName {
    /// True for `localhost`, 127.0.0.0/8 and ::1 (checked on every request's Host, so without copies). A `String`,
    /// not any `StringProtocol`: called from another module, a generic runs unspecialised (4,800 instructions a
    /// request, `bench/instructions`).
    package static func isLoopback(_ host: String) -> Bool {
        // Walked through the string's own UTF-8: a `String.UTF8View` iterator cost 50 instructions a byte.
        host.utf8.withContiguousStorageIfAvailable(isLoopback) ?? Array(host.utf8).withUnsafeBufferPointer(isLoopback)
    }

    private static func isLoopback(_ host: UnsafeBufferPointer<UInt8>) -> Bool {
        if host.equalsIgnoringASCIICase("localhost") || host.elementsEqual("::1".utf8)
            || host.elementsEqual("[::1]".utf8)
        {
            return true
        }
        // Four dot-separated decimal octets, the first 127.
        var octets = 0
        var value = 0
        var digits = 0
        var first = 0
        for byte in host {
            if byte == UInt8(ascii: ".") {
                guard digits > 0 else { return false }
                if octets == 0 { first = value }
                octets += 1
                value = 0
                digits = 0
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 3 {
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                guard value <= 255 else { return false }
            } else {
                return false
            }
        }
        return octets == 3 && digits > 0 && first == 127
    }
}
