/// One listener and the upstream it forwards to.
public struct RouteConfig: Sendable, Equatable {
    public var listen: ListenAddress
    public var upstream: UpstreamURL
}
