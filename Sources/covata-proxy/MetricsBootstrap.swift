import CovataProxy
import Prometheus

/// The entry point is the only place metrics are made: a Prometheus registry behind swift-metrics.
enum MetricsBootstrap {
    static func makeMetrics() -> ProxyMetrics {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Upstream latency buckets from 1 ms to 60 s.
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
            .seconds(10), .seconds(30), .seconds(60),
        ]
        return ProxyMetrics(factory: factory, exposition: { registry.emitToBuffer() })
    }
}
