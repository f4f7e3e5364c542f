import CovataProxy
import Foundation
import Logging

/// The entry point is the only place loggers are made; components receive this one.
enum LoggingBootstrap {
    /// Bootstraps swift-log once; returns the logger and the level switch every logger follows (a reload
    /// changes it).
    static func makeLogger(_ config: LogConfig) -> (logger: Logger, level: LogLevelSwitch) {
        let json = config.format.map { $0 == .json } ?? (isatty(STDERR_FILENO) == 0)
        let levelSwitch = LogLevelSwitch(Logger.Level(rawValue: config.level) ?? .info)
        LoggingSystem.bootstrap { label in
            let inner: any LogHandler =
                json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            return SwitchableLevelHandler(inner: inner, levelSwitch: levelSwitch)
        }
        return (Logger(label: "covata-proxy"), levelSwitch)
    }
}
