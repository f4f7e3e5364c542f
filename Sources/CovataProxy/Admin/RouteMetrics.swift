import CoreMetrics
import Synchronization

/// One route's metrics, made once per route so the request path does not build metric objects per request.
final class RouteMetrics: Sendable {
    private let name: String
    private let factory: any MetricsFactory
    private let bytesIn: Counter
    private let bytesOut: Counter
    private let latency: Timer
    /// Request counters by method class (read, write) and status class (0xx to 5xx, anything else as 0xx), made on
    /// first use; indexed by number so counting a request builds no strings.
    private let requests = Mutex<[Counter?]>(Array(repeating: nil, count: 2 * 6))

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
        let isRead = method == "GET" || method == "HEAD" || method == "OPTIONS"
        let statusClass = (0...5).contains(status / 100) ? status / 100 : 0
        let index = (isRead ? 0 : 6) + statusClass
        let counter = requests.withLock { counters in
            if let existing = counters[index] { return existing }
            let made = Counter(
                label: "covata_proxy_requests_total",
                dimensions: [("route", name), ("method", isRead ? "read" : "write"), ("status", "\(statusClass)xx")],
                factory: factory)
            counters[index] = made
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
