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
    func answersFor(scheme: String, host: String, port: Int?) -> Bool {
        let host = host.lowercased()
        guard host == upstream.host.lowercased() || hosts.contains(where: { $0.lowercased() == host }) else {
            return false
        }
        // An explicit default port of the request's scheme means the same as none.
        guard let port, port != (scheme == "https" ? 443 : 80) else { return true }
        return port == (upstream.port ?? (upstream.scheme == "https" ? 443 : 80))
    }
}
