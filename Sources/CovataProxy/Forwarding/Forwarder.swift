import CurlClient
import Logging
import ProxyConfiguration
import ProxyObservability

/// What every route's connections share: the curl worker, the token manager and the route's upstream.
final class Forwarder: Sendable {
    let route: RouteConfig
    /// curl, and the token manager, behind the seams the handler's tests script (`UpstreamSeam.swift`).
    let upstream: any UpstreamClient
    let tokens: any TokenSource
    let logger: Logger
    let accessLog: AccessLog
    let connectTimeoutMilliseconds: Int
    let firstByteMilliseconds: Int64
    let limits: LimitsConfig
    let budget: RequestBudget
    let metrics: ProxyMetrics
    let routeMetrics: RouteMetrics
    let settings: RuntimeSettings
    /// The route's name in metrics and access logs: its listen address.
    let name: String
    /// The route's place in the config, and the redirect rewriter all routes share.
    let index: Int
    let redirects: SharedRedirects
    /// `scheme://host[:port]/base`, worked out once: every request's URL starts with it.
    let upstreamPrefix: String

    init(
        route: RouteConfig, index: Int, redirects: SharedRedirects, upstream: any UpstreamClient,
        tokens: any TokenSource,
        timeouts: TimeoutsConfig,
        limits: LimitsConfig, budget: RequestBudget, metrics: ProxyMetrics, settings: RuntimeSettings,
        logger: Logger, accessLog: AccessLog
    ) {
        self.index = index
        self.redirects = redirects
        self.metrics = metrics
        self.settings = settings
        self.name = route.listen.description
        self.routeMetrics = metrics.route(route.listen.description)
        self.firstByteMilliseconds = Int64(timeouts.firstByteSeconds * 1000)
        self.limits = limits
        self.route = route
        self.upstreamPrefix = route.upstream.origin + route.upstream.basePath
        self.budget = budget
        self.upstream = upstream
        self.tokens = tokens
        self.logger = logger
        self.accessLog = accessLog
        self.connectTimeoutMilliseconds = Int(timeouts.connectSeconds * 1000)
    }

    /// The upstream URL for a client's request-target: the target is appended byte-exact to the base.
    func upstreamURL(for target: String) -> String {
        upstreamPrefix + target
    }
}
