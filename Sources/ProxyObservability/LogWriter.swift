import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle

/// Where every log line goes: handed over from any thread in a few instructions (a lock and an append) and written
/// by one thread of its own, in batches, so an event loop never formats JSON or waits on stderr. The queue is
/// bounded: when it is full, lines are dropped, counted, and the next batch starts with a line that says so.
public final class LogWriter: @unchecked Sendable {  // Unchecked: every mutable field is guarded by `condition`.
    // Those fields skip the run-time exclusivity check too: the lock already keeps their accesses apart.
    private let condition = NSCondition()
    @exclusivity(unchecked) private var queue: [LogLine] = []
    @exclusivity(unchecked) private var dropped = 0
    @exclusivity(unchecked) private var writing = false
    private let capacity: Int
    private let style: LogLine.Style
    private let output: FileHandle
    private let droppedLines: Counter?
    /// nil: lines are written on the caller's thread (the one-shot commands, which exit right after).
    private var thread: Thread?

    /// - Parameter background: write from a thread of its own (the running proxy); otherwise on the caller's.
    public init(
        style: LogLine.Style, output: FileHandle = .standardError, background: Bool, capacity: Int = 16_384,
        droppedLines: Counter? = nil
    ) {
        self.style = style
        self.output = output
        self.capacity = capacity
        self.droppedLines = droppedLines
        guard background else { return }
        // The thread holds the writer for as long as the process runs: it waits on the writer's condition.
        let thread = Thread { self.run() }
        thread.name = "covata-log"
        self.thread = thread
        thread.start()
    }

    package func enqueue(_ line: LogLine) {
        guard thread != nil else {
            var bytes: [UInt8] = []
            line.write(style, to: &bytes)
            condition.lock()
            try? output.write(contentsOf: bytes)
            condition.unlock()
            return
        }
        condition.lock()
        guard queue.count < capacity else {
            dropped += 1
            condition.unlock()
            droppedLines?.increment()
            return
        }
        queue.append(line)
        // The writer waits only on an empty queue, so only the first line needs to wake it.
        if queue.count == 1 { condition.broadcast() }
        condition.unlock()
    }

    /// Returns once every line handed over so far has been written.
    public func flush() {
        guard thread != nil else { return }
        condition.lock()
        while !queue.isEmpty || dropped > 0 || writing { condition.wait() }
        condition.unlock()
    }

    private func run() {
        var batch: [LogLine] = []
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1 << 16)
        var clock = TimestampCache()
        while true {
            condition.lock()
            while queue.isEmpty && dropped == 0 { condition.wait() }
            swap(&batch, &queue)
            let lost = dropped
            dropped = 0
            writing = true
            condition.unlock()

            if lost > 0 {
                LogLine(
                    timestamp: Date().timeIntervalSince1970, level: .warning, message: "log lines dropped",
                    label: "covata-proxy", metadata: ["dropped": .stringConvertible(lost)]
                ).write(style, to: &bytes)
            }
            for line in batch { line.write(style, to: &bytes, cache: &clock) }
            let short = batch.count < 64
            batch.removeAll(keepingCapacity: true)
            try? output.write(contentsOf: bytes)
            bytes.removeAll(keepingCapacity: true)

            condition.lock()
            writing = false
            condition.broadcast()
            condition.unlock()
            // A short batch under steady load means a write per few lines: let lines gather for a moment instead,
            // so the writer costs a write and a wake-up per few hundred lines (a line waits 2 ms at most for it).
            if short { Thread.sleep(forTimeInterval: 0.002) }
        }
    }
}

/// swift-log's handler for the proxy: callers keep using `Logger`; the line is built and written by `LogWriter`.
public struct ProxyLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let writer: LogWriter

    public init(label: String, writer: LogWriter) {
        self.label = label
        self.writer = writer
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata {
            if merged.isEmpty { merged = extra } else { merged.merge(extra) { $1 } }
        }
        writer.enqueue(
            LogLine(
                timestamp: Date().timeIntervalSince1970, level: event.level, message: event.message.description,
                label: label, metadata: merged))
    }
}

extension LogWriter: Service {
    /// Writes on its own thread; on graceful shutdown, writes out what is queued.
    public func run() async throws {
        try? await gracefulShutdown()
        flush()
    }
}
