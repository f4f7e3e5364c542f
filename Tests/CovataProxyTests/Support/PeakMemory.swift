import Foundation
import Synchronization

/// Samples a process's resident memory (VmRSS) until stopped, keeping the peak.
/// It samples on its own thread: the tests' blocking calls to curl must not starve it.
final class PeakMemory: Sendable {
    private struct State {
        var peak = 0
        var stopped = false
    }

    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let shared = Shared()
    let pid: Int32

    init(pid: Int32) {
        self.pid = pid
        let shared = self.shared
        Thread.detachNewThread {
            while !shared.state.withLock({ $0.stopped }) {
                if let rss = PeakMemory.residentBytes(pid: pid) {
                    shared.state.withLock { $0.peak = max($0.peak, rss) }
                }
                usleep(20_000)
            }
        }
    }

    /// The highest resident size seen so far, in bytes.
    var peakBytes: Int { shared.state.withLock { $0.peak } }

    func stop() { shared.state.withLock { $0.stopped = true } }

    static func residentBytes(pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return line.split(separator: " ").compactMap { Int($0) }.first.map { $0 * 1024 }
    }
}
