import ProxyObservability
import Logging
import Synchronization

/// The process's log level, changeable at run time (SIGHUP reload) for every logger at once.
final class LogLevelSwitch: Sendable {
    private let level: Mutex<Logger.Level>

    init(_ level: Logger.Level) { self.level = Mutex(level) }

    var current: Logger.Level {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = newValue } }
    }
}

/// Wraps a handler so its level follows a `LogLevelSwitch`.
struct SwitchableLevelHandler: LogHandler {
    var inner: any LogHandler
    let levelSwitch: LogLevelSwitch

    var logLevel: Logger.Level {
        get { levelSwitch.current }
        set { levelSwitch.current = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        inner.log(event: event)
    }
}
