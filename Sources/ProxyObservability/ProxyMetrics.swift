import CoreMetrics
import Foundation
import Synchronization

/// The proxy's metrics, made from a factory the entry point chooses (Prometheus in production), and their
/// exposition for `GET /metrics`: the factory's text with a `# HELP` line for every family, then the build and the
/// process metrics (read from /proc at each scrape), following Prometheus' naming conventions.
public final class ProxyMetrics: Sendable {
    package let factory: any MetricsFactory
    private let emit: @Sendable () -> [UInt8]
    private let replays: Counter
    private let overloads: Counter
    private let tokenExpiry: Gauge
    private let tokenLastSuccess: Gauge
    private let connections: Meter
    private let connectionsAccepted: Counter
    /// Log lines the writer dropped because its queue was full (it also says so in the log).
    public let logLinesDropped: Counter
    private let startedAt = Date().timeIntervalSince1970

    /// What each family means, for its `# HELP` line.
    package static let help: [String: String] = [
        "covata_proxy_requests_total": "Requests answered, by route, HTTP method and status class.",
        "covata_proxy_request_body_bytes_total": "Request body bytes received from clients, by route.",
        "covata_proxy_response_body_bytes_total": "Response body bytes sent to clients, by route.",
        "covata_proxy_own_answers_total":
            "Answers the proxy made itself instead of forwarding, by route and error code (its JSON body's error).",
        "covata_proxy_upstream_latency_seconds": "Time from sending a request upstream to its response head, by route.",
        "covata_proxy_token_operations_total": "Token endpoint requests, by grant and outcome.",
        "covata_proxy_token_expiry_timestamp_seconds":
            "When the current access token expires (Unix time); 0 without one.",
        "covata_proxy_token_last_success_timestamp_seconds":
            "When the last token operation succeeded (Unix time); 0 before the first.",
        "covata_proxy_replays_total": "Requests sent a second time after the upstream answered 401 invalid_token.",
        "covata_proxy_overload_refusals_total": "Requests answered 503 overloaded (limits.maxConcurrentRequests).",
        "covata_proxy_active_connections": "Client connections open on the routes.",
        "covata_proxy_connections_total": "Client connections accepted on the routes.",
        "covata_proxy_log_lines_dropped_total": "Log lines dropped because the log writer's queue was full.",
    ]

    public init(factory: any MetricsFactory, exposition: @escaping @Sendable () -> [UInt8]) {
        self.factory = factory
        self.emit = exposition
        replays = Counter(label: "covata_proxy_replays_total", factory: factory)
        overloads = Counter(label: "covata_proxy_overload_refusals_total", factory: factory)
        tokenExpiry = Gauge(label: "covata_proxy_token_expiry_timestamp_seconds", factory: factory)
        tokenLastSuccess = Gauge(label: "covata_proxy_token_last_success_timestamp_seconds", factory: factory)
        connections = Meter(label: "covata_proxy_active_connections", factory: factory)
        connectionsAccepted = Counter(label: "covata_proxy_connections_total", factory: factory)
        logLinesDropped = Counter(label: "covata_proxy_log_lines_dropped_total", factory: factory)
    }

    /// The metrics of one route, named by its listen address.
    package func route(_ name: String) -> RouteMetrics {
        RouteMetrics(name: name, factory: factory)
    }

    /// A token operation by grant (`password`, `refresh_token`) and outcome (`success`, `rejected`, `failed`).
    package func tokenOperation(grant: String, outcome: String) {
        Counter(
            label: "covata_proxy_token_operations_total", dimensions: [("grant", grant), ("outcome", outcome)],
            factory: factory
        ).increment()
    }

    package func replayed() { replays.increment() }

    /// A request refused because `limits.maxConcurrentRequests` were in flight.
    package func overloaded() { overloads.increment() }

    /// Unix times of the current token's expiry and of the last successful token operation (0 for none).
    package func token(expiresAt: Double?, lastSuccessAt: Double?) {
        tokenExpiry.record(expiresAt ?? 0)
        tokenLastSuccess.record(lastSuccessAt ?? 0)
    }

    package func connectionOpened() {
        connections.increment()
        connectionsAccepted.increment()
    }

    package func connectionClosed() { connections.decrement() }

    /// The text for `GET /metrics`.
    package func exposition() -> [UInt8] {
        var out = ""
        for line in String(decoding: emit(), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), let name = line.split(separator: " ").dropFirst(2).first,
                let help = Self.help[String(name)]
            {
                out += "# HELP \(name) \(help)\n"
            }
            out += line
            out += "\n"
        }
        while out.hasSuffix("\n\n") { out.removeLast() }
        out += Self.family(
            "covata_proxy_build_info", "gauge", "The running build; always 1.",
            labels: #"{version="\#(BuildInfo.version)",libcurl="\#(BuildInfo.libcurl)",swift="\#(BuildInfo.swift)"}"#,
            value: "1")
        let process = ProcessFacts.read()
        out += Self.family(
            "process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.",
            value: String(process.cpuSeconds))
        out += Self.family(
            "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
            value: String(process.residentBytes))
        out += Self.family(
            "process_open_fds", "gauge", "Open file descriptors.", value: String(process.openFileDescriptors))
        out += Self.family(
            "process_start_time_seconds", "gauge", "When the process started (Unix time).",
            value: String(process.startTime ?? startedAt))
        return Array(out.utf8)
    }

    private static func family(_ name: String, _ type: String, _ help: String, labels: String = "", value: String)
        -> String
    {
        "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name)\(labels) \(value)\n"
    }
}

/// One route's metrics, made once per route so the request path does not build metric objects per request.
package final class RouteMetrics: Sendable {
    /// The methods counted by name; anything else is `other`, so a client cannot grow the label set.
    package static let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    private let name: String
    private let factory: any MetricsFactory
    private let bytesIn: Counter
    private let bytesOut: Counter
    private let latency: CoreMetrics.Timer
    /// Request counters by method and status class (0xx to 5xx, anything else as 0xx), made on first use;
    /// indexed by number so counting a request builds no strings.
    private let requests = Mutex<[Counter?]>(Array(repeating: nil, count: (methods.count + 1) * 6))
    private let ownAnswers = Mutex<[String: Counter]>([:])

    package init(name: String, factory: any MetricsFactory) {
        self.name = name
        self.factory = factory
        bytesIn = Counter(
            label: "covata_proxy_request_body_bytes_total", dimensions: [("route", name)], factory: factory)
        bytesOut = Counter(
            label: "covata_proxy_response_body_bytes_total", dimensions: [("route", name)], factory: factory)
        latency = CoreMetrics.Timer(
            label: "covata_proxy_upstream_latency_seconds", dimensions: [("route", name)], factory: factory)
    }

    /// One finished request; `error` is the proxy's own code when it answered itself.
    package func request(method: String, status: Int, error: String?, bytesIn: Int64, bytesOut: Int64) {
        let methodIndex = Self.methods.firstIndex(of: method) ?? Self.methods.count
        let statusClass = (0...5).contains(status / 100) ? status / 100 : 0
        let index = methodIndex * 6 + statusClass
        let counter = requests.withLock { counters in
            if let existing = counters[index] { return existing }
            let label = methodIndex < Self.methods.count ? Self.methods[methodIndex] : "other"
            let made = Counter(
                label: "covata_proxy_requests_total",
                dimensions: [("route", name), ("method", label), ("status", "\(statusClass)xx")], factory: factory)
            counters[index] = made
            return made
        }
        counter.increment()
        if let error { ownAnswer(error) }
        self.bytesIn.increment(by: bytesIn)
        self.bytesOut.increment(by: bytesOut)
    }

    private func ownAnswer(_ code: String) {
        let counter = ownAnswers.withLock { counters in
            if let existing = counters[code] { return existing }
            let made = Counter(
                label: "covata_proxy_own_answers_total", dimensions: [("route", name), ("error", code)],
                factory: factory)
            counters[code] = made
            return made
        }
        counter.increment()
    }

    /// Time from sending a request upstream to its response head.
    package func upstreamLatency(nanoseconds: Int64) {
        latency.recordNanoseconds(nanoseconds)
    }
}

/// The process's own figures, from /proc (Linux), for the standard `process_*` metrics.
package struct ProcessFacts {
    package var cpuSeconds: Double = 0
    package var residentBytes: Int = 0
    package var openFileDescriptors: Int = 0
    package var startTime: Double?

    /// Clock ticks per second in /proc/self/stat: 100 on every Linux architecture Swift runs on.
    package static let ticksPerSecond = 100.0

    package static func read() -> ProcessFacts {
        var facts = ProcessFacts()
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15, start 22.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 19, let user = Double(fields[11]), let system = Double(fields[12]),
                let start = Double(fields[19])
            {
                facts.cpuSeconds = (user + system) / ticksPerSecond
                if let boot = bootTime() { facts.startTime = boot + start / ticksPerSecond }
            }
        }
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kib = Int(line.split(separator: " ").dropFirst().first ?? "")
        {
            facts.residentBytes = kib * 1024
        }
        facts.openFileDescriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        return facts
    }

    private static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") })
        else { return nil }
        return Double(line.split(separator: " ").last ?? "")
    }
}
