import Foundation
import Synchronization

/// Samples a process's resident memory (VmRSS) until stopped, keeping the peak.
final class PeakMemory: Sendable {
    private final class Peak: Sendable {
        let bytes = Mutex(0)
    }

    private let peak = Peak()
    private let sampler: Task<Void, Never>

    init(pid: Int32) {
        let peak = self.peak
        sampler = Task.detached {
            while !Task.isCancelled {
                if let rss = PeakMemory.residentBytes(pid: pid) { peak.bytes.withLock { $0 = max($0, rss) } }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// The highest resident size seen so far, in bytes.
    var peakBytes: Int { peak.bytes.withLock { $0 } }

    func stop() { sampler.cancel() }

    static func residentBytes(pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return line.split(separator: " ").compactMap { Int($0) }.first.map { $0 * 1024 }
    }
}
