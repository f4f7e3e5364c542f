import CoreMetrics
import CovataProxy
import Foundation
import Logging

/// The entry point is the only place loggers are made; components receive this one.
enum LoggingBootstrap {
    struct Made {
        var logger: Logger
        /// The level every logger follows (a reload changes it).
        var level: LogLevelSwitch
        /// Flush before the process exits, or the last lines may be lost.
        var writer: LogWriter
    }

    /// Bootstraps swift-log once. `background`: lines are written by a thread of their own (the running proxy);
    /// the one-shot commands write on the caller's thread and lose nothing when they exit.
    static func makeLogger(_ config: LogConfig, background: Bool = false, droppedLines: Counter? = nil) -> Made {
        let json = config.format.map { $0 == .json } ?? (isatty(STDERR_FILENO) == 0)
        let levelSwitch = LogLevelSwitch(config.level)
        let writer = LogWriter(style: json ? .json : .text, background: background, droppedLines: droppedLines)
        LoggingSystem.bootstrap { label in
            SwitchableLevelHandler(inner: ProxyLogHandler(label: label, writer: writer), levelSwitch: levelSwitch)
        }
        return Made(logger: Logger(label: "covata-proxy"), level: levelSwitch, writer: writer)
    }
}
