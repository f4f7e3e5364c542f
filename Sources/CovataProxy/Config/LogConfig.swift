/// Log level and line format.
public struct LogConfig: Sendable, Equatable {
    public enum Format: String, Sendable, Equatable {
        case json
        case text
    }

    /// A swift-log level name: trace, debug, info, notice, warning, error, critical.
    public var level: String
    /// nil means JSON lines when stderr is not a terminal, readable text when it is.
    public var format: Format?
    /// One info line per request (route, method, path without query values, status, bytes, duration, replayed).
    public var accessLog: Bool = true

    static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
}
