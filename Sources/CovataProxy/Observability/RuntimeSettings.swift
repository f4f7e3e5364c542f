import Synchronization

/// Settings a reload may change while requests are running, read per request.
final class RuntimeSettings: Sendable {
    private let state: Mutex<(accessLog: Bool, draining: Bool)>

    init(accessLog: Bool) {
        state = Mutex((accessLog, false))
    }

    var accessLog: Bool {
        get { state.withLock { $0.accessLog } }
        set { state.withLock { $0.accessLog = newValue } }
    }

    /// Set once shutdown begins; readiness reports it.
    var draining: Bool {
        get { state.withLock { $0.draining } }
        set { state.withLock { $0.draining = newValue } }
    }
}
