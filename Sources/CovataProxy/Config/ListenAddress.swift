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
        guard let colon = text.lastIndex(of: ":") else {
            throw ConfigError(keyPath, "expected host:port or unix:/path, found \"\(text)\"")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ConfigError(keyPath, "expected host:port with a port from 0 to 65535, found \"\(text)\"")
        }
        return .tcp(host: host, port: port)
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
