/// The whole validated proxy.json. Building one succeeds only if every key is valid, so a half-working
/// proxy never starts.
public struct ProxyConfig: Sendable, Equatable {
    public var routes: [RouteConfig]
    public var oauth: OAuthConfig
    public var admin: AdminConfig?
    public var tls: TLSConfig
    public var egressProxy: String?
    public var log: LogConfig
    public var timeouts: TimeoutsConfig
    public var limits: LimitsConfig
}
