import Dispatch
import Synchronization

/// Resumes a continuation on the first signal only, and keeps the signal sources alive until then.
final class SignalOnce: Sendable {
    private let state: Mutex<(CheckedContinuation<Int32, Never>?, [any DispatchSourceSignal])>

    init(_ continuation: CheckedContinuation<Int32, Never>) {
        state = Mutex((continuation, []))
    }

    func keep(_ source: any DispatchSourceSignal) {
        state.withLock { $0.1.append(source) }
    }

    func fire(_ signal: Int32) {
        let continuation = state.withLock { value in
            defer { value.0 = nil }
            return value.0
        }
        continuation?.resume(returning: signal)
    }
}
