import Synchronization

/// Settings a reload may change while requests are running, read per request.
package final class RuntimeSettings: Sendable {
    private let state: Mutex<Bool>

    package init(accessLog: Bool) {
        state = Mutex(accessLog)
    }

    package var accessLog: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
