import Foundation

/// The OAuth redirect URI. On loopback `http://` (RFC 8252 §7.3) `covata-proxy login` can receive the code
/// itself; any other URI must be `https://` and the operator pastes what the browser shows.
public struct RedirectURI: Sendable, Equatable {
    public static let defaultValue = "http://127.0.0.1:9902/callback"

    public let text: String
    /// Where `login` listens, when the URI is loopback http.
    public let loopback: (host: String, port: Int, path: String)?

    public init?(_ text: String) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty, components.fragment == nil
        else { return nil }
        self.text = text
        switch scheme {
        case "https":
            loopback = nil
        case "http" where HostName.isLoopback(host):
            let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
            loopback = (host, components.port ?? 80, path)
        default:
            return nil
        }
    }

    public static func == (lhs: RedirectURI, rhs: RedirectURI) -> Bool { lhs.text == rhs.text }
}
