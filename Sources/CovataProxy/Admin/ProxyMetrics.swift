import CoreMetrics

/// The proxy's metrics, made from a factory the entry point chooses (Prometheus in production).
/// `exposition` renders them for `GET /metrics`.
public final class ProxyMetrics: Sendable {
    let factory: any MetricsFactory
    let exposition: @Sendable () -> [UInt8]
    private let replays: Counter
    private let tokenExpiry: Gauge
    private let connections: Meter
    private let connectionsAccepted: Counter

    public init(factory: any MetricsFactory, exposition: @escaping @Sendable () -> [UInt8]) {
        self.factory = factory
        self.exposition = exposition
        replays = Counter(label: "covata_proxy_replays_total", factory: factory)
        tokenExpiry = Gauge(label: "covata_proxy_token_expiry_seconds", factory: factory)
        connections = Meter(label: "covata_proxy_active_connections", factory: factory)
        connectionsAccepted = Counter(label: "covata_proxy_connections_total", factory: factory)
    }

    /// One finished request, by route, method class (read or write) and status class.
    func request(route: String, method: String, status: Int, bytesIn: Int64, bytesOut: Int64) {
        let methodClass = ["GET", "HEAD", "OPTIONS"].contains(method) ? "read" : "write"
        let statusClass = "\(status / 100)xx"
        Counter(
            label: "covata_proxy_requests_total",
            dimensions: [("route", route), ("method", methodClass), ("status", statusClass)], factory: factory
        ).increment()
        Counter(label: "covata_proxy_bytes_in_total", dimensions: [("route", route)], factory: factory)
            .increment(by: bytesIn)
        Counter(label: "covata_proxy_bytes_out_total", dimensions: [("route", route)], factory: factory)
            .increment(by: bytesOut)
    }

    /// Time from sending a request upstream to its response head.
    func upstreamLatency(route: String, nanoseconds: Int64) {
        Timer(label: "covata_proxy_upstream_latency_seconds", dimensions: [("route", route)], factory: factory)
            .recordNanoseconds(nanoseconds)
    }

    /// A token operation by grant (`password`, `refresh_token`) and outcome (`success`, `rejected`, `failed`).
    func tokenOperation(grant: String, outcome: String) {
        Counter(
            label: "covata_proxy_token_operations_total", dimensions: [("grant", grant), ("outcome", outcome)],
            factory: factory
        ).increment()
    }

    func replayed() { replays.increment() }

    func tokenExpires(inSeconds seconds: Double) { tokenExpiry.record(seconds) }

    func connectionOpened() {
        connections.increment()
        connectionsAccepted.increment()
    }

    func connectionClosed() { connections.decrement() }
}
