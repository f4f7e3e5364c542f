import Synchronization

/// Settings a reload may change while requests are running, read per request.
package final class RuntimeSettings: Sendable {
    private let state: Mutex<(accessLog: Bool, draining: Bool)>

    package init(accessLog: Bool) {
        state = Mutex((accessLog, false))
    }

    package var accessLog: Bool {
        get { state.withLock { $0.accessLog } }
        set { state.withLock { $0.accessLog = newValue } }
    }

    /// Set once shutdown begins; readiness reports it.
    package var draining: Bool {
        get { state.withLock { $0.draining } }
        set { state.withLock { $0.draining = newValue } }
    }
}
