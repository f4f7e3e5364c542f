import CovataProxy
import Foundation
import Logging

/// The entry point is the only place loggers are made; components receive this one.
enum LoggingBootstrap {
    static func makeLogger(_ config: LogConfig) -> Logger {
        let json = config.format.map { $0 == .json } ?? (isatty(STDERR_FILENO) == 0)
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: config.level) ?? .info
            return handler
        }
        return Logger(label: "covata-proxy")
    }
}
