import Logging

/// Log level and line format.
public struct LogConfig: Sendable, Equatable {
    public enum Format: String, Sendable, Equatable {
        case json
        case text
    }

    public var level: Logger.Level
    /// nil means JSON lines when stderr is not a terminal, readable text when it is.
    public var format: Format?
    /// One info line per request (route, method, path without query values, status, bytes, duration, replayed).
    public var accessLog: Bool = true

    /// The names `log.level` and `--log-level` take, swift-log's.
    public static let levelNames = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
}
