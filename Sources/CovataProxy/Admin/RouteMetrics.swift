import CoreMetrics
import Synchronization

/// One route's metrics, made once per route so the request path does not build metric objects per request.
final class RouteMetrics: Sendable {
    private let name: String
    private let factory: any MetricsFactory
    private let bytesIn: Counter
    private let bytesOut: Counter
    private let latency: Timer
    /// Request counters by "method class/status class", made on first use (at most 2 × 6 of them).
    private let requests = Mutex<[String: Counter]>([:])

    init(name: String, factory: any MetricsFactory) {
        self.name = name
        self.factory = factory
        bytesIn = Counter(label: "covata_proxy_bytes_in_total", dimensions: [("route", name)], factory: factory)
        bytesOut = Counter(label: "covata_proxy_bytes_out_total", dimensions: [("route", name)], factory: factory)
        latency = Timer(
            label: "covata_proxy_upstream_latency_seconds", dimensions: [("route", name)], factory: factory)
    }

    /// One finished request, by method class (read or write) and status class.
    func request(method: String, status: Int, bytesIn: Int64, bytesOut: Int64) {
        let methodClass = ["GET", "HEAD", "OPTIONS"].contains(method) ? "read" : "write"
        let statusClass = "\(status / 100)xx"
        let counter = requests.withLock { counters in
            let key = "\(methodClass)/\(statusClass)"
            if let existing = counters[key] { return existing }
            let made = Counter(
                label: "covata_proxy_requests_total",
                dimensions: [("route", name), ("method", methodClass), ("status", statusClass)], factory: factory)
            counters[key] = made
            return made
        }
        counter.increment()
        self.bytesIn.increment(by: bytesIn)
        self.bytesOut.increment(by: bytesOut)
    }

    /// Time from sending a request upstream to its response head.
    func upstreamLatency(nanoseconds: Int64) {
        latency.recordNanoseconds(nanoseconds)
    }
}
