import CovataProxy
import Foundation
import Logging

/// The entry point is the only place loggers are made; components receive this one.
enum LoggingBootstrap {
    /// The level every logger follows; a reload changes it.
    nonisolated(unsafe) static var levelSwitch = LogLevelSwitch(.info)  // set once, before any logging starts

    static func makeLogger(_ config: LogConfig) -> Logger {
        let json = config.format.map { $0 == .json } ?? (isatty(STDERR_FILENO) == 0)
        let levelSwitch = LogLevelSwitch(Logger.Level(rawValue: config.level) ?? .info)
        Self.levelSwitch = levelSwitch
        LoggingSystem.bootstrap { label in
            let inner: any LogHandler =
                json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            return SwitchableLevelHandler(inner: inner, levelSwitch: levelSwitch)
        }
        return Logger(label: "covata-proxy")
    }
}
