import CoreMetrics

/// The proxy's metrics, made from a factory the entry point chooses (Prometheus in production).
/// `exposition` renders them for `GET /metrics`.
public final class ProxyMetrics: Sendable {
    let factory: any MetricsFactory
    let exposition: @Sendable () -> [UInt8]
    private let replays: Counter
    private let overloads: Counter
    private let tokenExpiry: Gauge
    private let connections: Meter
    private let connectionsAccepted: Counter
    /// Log lines the writer dropped because its queue was full (it also says so in the log).
    public let logLinesDropped: Counter

    public init(factory: any MetricsFactory, exposition: @escaping @Sendable () -> [UInt8]) {
        self.factory = factory
        self.exposition = exposition
        replays = Counter(label: "covata_proxy_replays_total", factory: factory)
        overloads = Counter(label: "covata_proxy_overload_refusals_total", factory: factory)
        tokenExpiry = Gauge(label: "covata_proxy_token_expiry_seconds", factory: factory)
        connections = Meter(label: "covata_proxy_active_connections", factory: factory)
        connectionsAccepted = Counter(label: "covata_proxy_connections_total", factory: factory)
        logLinesDropped = Counter(label: "covata_proxy_log_lines_dropped_total", factory: factory)
    }

    /// The metrics of one route, named by its listen address.
    func route(_ name: String) -> RouteMetrics {
        RouteMetrics(name: name, factory: factory)
    }

    /// A token operation by grant (`password`, `refresh_token`) and outcome (`success`, `rejected`, `failed`).
    func tokenOperation(grant: String, outcome: String) {
        Counter(
            label: "covata_proxy_token_operations_total", dimensions: [("grant", grant), ("outcome", outcome)],
            factory: factory
        ).increment()
    }

    func replayed() { replays.increment() }

    /// A request refused because `limits.maxConcurrentRequests` were in flight.
    func overloaded() { overloads.increment() }

    func tokenExpires(inSeconds seconds: Double) { tokenExpiry.record(seconds) }

    func connectionOpened() {
        connections.increment()
        connectionsAccepted.increment()
    }

    func connectionClosed() { connections.decrement() }
}
