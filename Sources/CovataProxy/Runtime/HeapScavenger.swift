import Logging
import ProxySupport
import ServiceLifecycle

/// Gives the heap a burst freed back to the system, as Go's background scavenger and Envoy's periodic tcmalloc
/// release do. glibc keeps freed memory resident unless it sits at the top of an arena: after 1,000 keep-alive
/// connections or 64 stalled uploads have gone, 20–25 MiB of a sidecar's RSS is free heap that counts against the
/// pod's memory limit until the next peak reuses it. Once a second this looks at malloc's free bytes and trims when
/// they have grown by more than `slack` since the fewest seen: the walk runs on the concurrency pool, never on an
/// event loop, and only after something was freed, so a steady load (which reuses what it frees) never pays it.
public struct HeapScavenger: Service {
    /// Freed bytes left resident before a trim is worth its walk of the heap (a few milliseconds under arena locks).
    static let slack = 8 << 20
    static let interval = Duration.seconds(1)
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var decision = Decision(slack: Self.slack)
            while (try? await Task.sleep(for: Self.interval)) != nil {
                let free = ProcessHeap.freeBytes
                guard decision.sampled(freeBytes: free) else { continue }
                ProcessHeap.returnFreePages()
                logger.debug("returned freed heap to the system", metadata: ["free_bytes": "\(free)"])
            }
        }
    }

    /// When to trim, from malloc's free bytes alone. A trim leaves the count as it was (the chunks stay free, only
    /// their pages go), so the fewest free bytes seen since the last trim stand for what is resident and idle:
    /// reuse lowers that floor, and a trim is due once frees have raised the count more than `slack` above it.
    struct Decision {
        let slack: Int
        private var floor: Int?

        init(slack: Int) { self.slack = slack }

        /// - Returns: whether to trim now.
        mutating func sampled(freeBytes: Int) -> Bool {
            guard let floor else {
                self.floor = freeBytes
                return false
            }
            if freeBytes > floor + slack {
                self.floor = freeBytes
                return true
            }
            self.floor = min(floor, freeBytes)
            return false
        }
    }
}
