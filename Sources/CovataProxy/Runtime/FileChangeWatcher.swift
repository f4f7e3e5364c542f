import Foundation
import Synchronization

/// Watches the config file and every secret file it read, and says when one changed, so the running proxy reloads
/// exactly as on SIGHUP (`reload.watchFiles`).
///
/// It polls, once a second: the identity (device, inode), size and modification time of what each path resolves to.
/// Kubernetes updates a mounted ConfigMap or Secret by swapping the folder's `..data` symlink: the file's own path
/// never changes, what it resolves to does. A watch on the file itself would miss that, and a handful of `stat`s a
/// second cost nothing.
public final class FileChangeWatcher: Sendable {
    /// What is compared between two looks at a path; nil fields mean the path could not be read.
    struct Fingerprint: Equatable {
        var resolved: String
        var inode: Int?
        var size: Int?
        var modified: Date?
    }

    private struct State {
        var paths: [String] = []
        var seen: [String: Fingerprint] = [:]
    }

    private let state = Mutex(State())
    private let interval: Duration

    public init(interval: Duration = .seconds(1)) {
        self.interval = interval
    }

    /// Replaces the watched paths (after a reload, the new config's files); their current state is the baseline.
    public func watch(_ paths: [String]) {
        let seen = Dictionary(paths.map { ($0, Self.fingerprint($0)) }, uniquingKeysWith: { first, _ in first })
        state.withLock {
            $0.paths = paths
            $0.seen = seen
        }
    }

    /// One element per look that found a change, until the consuming task is cancelled.
    public func changes() -> AsyncStream<[String]> {
        AsyncStream { continuation in
            let task = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    let changed = look()
                    if !changed.isEmpty { continuation.yield(changed) }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The paths whose fingerprint moved since the last look; the new ones become the baseline.
    func look() -> [String] {
        let paths = state.withLock { $0.paths }
        let now = Dictionary(paths.map { ($0, Self.fingerprint($0)) }, uniquingKeysWith: { first, _ in first })
        return state.withLock { state in
            let changed = paths.filter { state.seen[$0] != now[$0] }
            state.seen = now
            return changed
        }
    }

    static func fingerprint(_ path: String) -> Fingerprint {
        // URL's resolution follows every link in the path (NSString's leaves `..data/…` links alone on Linux).
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let attributes = try? FileManager.default.attributesOfItem(atPath: resolved)
        return Fingerprint(
            resolved: resolved, inode: (attributes?[.systemFileNumber] as? NSNumber)?.intValue,
            size: (attributes?[.size] as? NSNumber)?.intValue, modified: attributes?[.modificationDate] as? Date)
    }
}
