import ProxyConfiguration
import ProxyObservability
import CoreMetrics
import CovataProxy
import Foundation
import Logging
import Prometheus

/// The entry point is the only place loggers and metrics are made (this file); components receive them.

/// The logger every component receives.
enum LoggingBootstrap {
    struct Made {
        var logger: Logger
        /// The level every logger follows (a reload changes it).
        var level: LogLevelSwitch
        /// Flush before the process exits, or the last lines may be lost.
        var writer: LogWriter
        /// A line per request, written beside the logger's (see `AccessLog`), at the logger's level `info`.
        var accessLog: AccessLog
    }

    /// Bootstraps swift-log once. `background`: lines are written by a thread of their own (the running proxy);
    /// the one-shot commands write on the caller's thread and lose nothing when they exit.
    static func makeLogger(
        _ config: LogConfig, background: Bool = false, droppedLines: CoreMetrics.Counter? = nil
    ) -> Made {
        let json = config.format.map { $0 == .json } ?? (isatty(STDERR_FILENO) == 0)
        let levelSwitch = LogLevelSwitch(config.level)
        let writer = LogWriter(style: json ? .json : .text, background: background, droppedLines: droppedLines)
        LoggingSystem.bootstrap { label in
            SwitchableLevelHandler(inner: ProxyLogHandler(label: label, writer: writer), levelSwitch: levelSwitch)
        }
        let accessLog = AccessLog(writer: writer, label: "covata-proxy") { levelSwitch.current <= .info }
        return Made(logger: Logger(label: "covata-proxy"), level: levelSwitch, writer: writer, accessLog: accessLog)
    }
}

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
