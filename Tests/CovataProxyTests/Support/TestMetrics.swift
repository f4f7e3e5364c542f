import ProxyObservability
import CovataProxy
import Prometheus

/// A fresh Prometheus registry per test, as the entry point would make one.
enum TestMetrics {
    static func make() -> ProxyMetrics {
        let registry = PrometheusCollectorRegistry()
        return ProxyMetrics(
            factory: PrometheusMetricsFactory(registry: registry), exposition: { registry.emitToBuffer() })
    }
}
