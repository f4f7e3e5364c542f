import CCurl
import Foundation
import NIOCore
import Synchronization

/// A dedicated thread that owns one libcurl multi handle and runs every transfer on it.
///
/// Other threads never touch a curl handle: they queue commands and wake the thread with `curl_multi_wakeup`,
/// which libcurl documents as callable from any thread. Connections to upstreams are reused across transfers.
public final class CurlWorker: @unchecked Sendable {  // the multi handle is used only on `thread`; the inbox is a Mutex
    enum Command {
        case add(CurlTransfer)
        case resumeReceiving(CurlTransfer)
        case resumeSending(CurlTransfer)
        case cancel(CurlTransfer)
    }

    struct Inbox {
        var commands: [Command] = []
        var closed = false
    }

    public let options: CurlClientOptions
    /// Streamed uploads whose transfer object lives, for their depth (see `CurlTransfer.uploadDepth`).
    let streamingUploads = Atomic<Int>(0)
    /// The thread's name, as the kernel allows it (15 bytes).
    let name: String
    let multi: UnsafeMutableRawPointer
    private let inbox = Mutex(Inbox())
    private let stopped = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)
    // The worker-thread-only fields skip the run-time exclusivity check, as `CurlTransfer`'s do.
    /// Transfers inside the multi handle, each retained once (curl holds only unretained pointers to them). Each
    /// knows its place (`workerSlot`): adding, finding and removing one is an index, where a dictionary hashed
    /// three times a transfer. Worker-thread only.
    @exclusivity(unchecked) var live: [CurlTransfer] = []
    /// Easy handles of finished transfers, reset and ready for the next one: creating one costs more than the rest
    /// of a small request's setup together (measured: 26 → 17 µs of curl CPU per request). Worker-thread only.
    @exclusivity(unchecked) var workerIdleHandles: [UnsafeMutableRawPointer] = []
    static let maxIdleHandles = 64
    /// Transfers with events queued in this pass, in the order they first had one. Worker-thread only.
    @exclusivity(unchecked) var workerTouched: [CurlTransfer] = []

    public init(options: CurlClientOptions = CurlClientOptions(), name: String = "curl-worker") {
        CurlRuntime.ensureInitialised()
        self.options = options
        self.multi = curl_multi_init()
        _ = cp_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, options.keptConnections)
        if options.maxConnectionsPerHost > 0 {
            _ = cp_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, options.maxConnectionsPerHost)
        }
        self.name = String(name.prefix(15))
        let thread = Thread { [self] in run() }
        thread.start()
    }

    /// Starts a transfer; events arrive on `delegate`, on this worker's thread.
    public func start(_ request: CurlRequest, delegate: any CurlTransferDelegate) -> CurlTransfer {
        let transfer = CurlTransfer(request: request, delegate: delegate, worker: self)
        if !submit(.add(transfer)) {
            delegate.transfer(transfer, didProduce: [.completed(.failure(Self.stoppedError))])
        }
        return transfer
    }

    /// Queues a command; false once the worker is shut down.
    @discardableResult
    func submit(_ command: Command) -> Bool {
        let (accepted, wake) = inbox.withLock { box -> (Bool, Bool) in
            guard !box.closed else { return (false, false) }
            box.commands.append(command)
            return (true, box.commands.count == 1)
        }
        // The poll timeout below bounds the cost of a wakeup lost to a race, so waking only on the first
        // command in the inbox is safe.
        if wake { curl_multi_wakeup(multi) }
        return accepted
    }

    /// Cancels every transfer, stops the thread and releases the multi handle. Blocks until done.
    public func shutdown() {
        let first = stopped.withLock { wasStopped -> Bool in
            defer { wasStopped = true }
            return !wasStopped
        }
        guard first else { return }
        inbox.withLock { $0.closed = true }
        curl_multi_wakeup(multi)
        finished.wait()
    }

    private func run() {
        // Foundation's Thread.name does not reach the kernel here; `top -H` and profilers should see which it is.
        _ = cp_name_this_thread(name)
        // The inbox's array and this one trade places each pass: taking a copy of the commands and emptying the
        // inbox's made a new array every pass.
        var commands: [Command] = []
        while true {
            let closed = inbox.withLock { box -> Bool in
                swap(&commands, &box.commands)
                return box.closed
            }
            for command in commands { apply(command) }
            commands.removeAll(keepingCapacity: true)
            if closed { break }
            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            drainCompletions()
            deliverEvents()
            var ready: Int32 = 0
            curl_multi_poll(multi, nil, 0, 200, &ready)
        }
        for transfer in live { finish(transfer, result: .failure(Self.stoppedError)) }
        deliverEvents()
        for easy in workerIdleHandles { curl_easy_cleanup(easy) }
        curl_multi_cleanup(multi)
        finished.signal()
    }

    private func apply(_ command: Command) {
        switch command {
        case .add(let transfer):
            guard let easy = transfer.makeEasyHandle(options: options) else {
                transfer.emit(.completed(.failure(CurlError(kind: .other, code: -1, message: "bad request"))))
                return
            }
            transfer.workerSlot = live.count
            live.append(transfer)
            curl_multi_add_handle(multi, easy)
        case .resumeReceiving(let transfer):
            guard isLive(transfer) else { return }
            transfer.workerRecvPaused = false
            transfer.applyPauseState()
        case .resumeSending(let transfer):
            guard isLive(transfer) else { return }
            transfer.workerSendPaused = false
            transfer.applyPauseState()
        case .cancel(let transfer):
            guard isLive(transfer) else { return }
            finish(transfer, result: .failure(CurlError(kind: .cancelled, code: -1, message: "cancelled")))
        }
    }

    private func isLive(_ transfer: CurlTransfer) -> Bool {
        transfer.workerSlot != nil
    }

    /// Takes a transfer out of `live`; the last one moves into its place.
    private func removeLive(_ transfer: CurlTransfer) {
        guard let slot = transfer.workerSlot else { return }
        transfer.workerSlot = nil
        let last = live.removeLast()
        if slot < live.count {
            live[slot] = last
            last.workerSlot = slot
        }
    }

    private func drainCompletions() {
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            guard let transfer = CurlTransfer.from(easy: easy), isLive(transfer) else { continue }
            var result: Result<Void, CurlError> = code == CURLE_OK ? .success(()) : .failure(CurlError(code))
            if let problem = transfer.workerHeadParser.problem {
                result = .failure(CurlError(kind: .badResponse, code: Int(code.rawValue), message: problem))
            }
            finish(transfer, result: result)
        }
    }

    /// Removes a transfer from the multi handle, tells its delegate, and frees its curl resources.
    private func finish(_ transfer: CurlTransfer, result: Result<Void, CurlError>) {
        removeLive(transfer)
        if let easy = transfer.workerEasy { curl_multi_remove_handle(multi, easy) }
        transfer.releaseEasyHandle()
        guard !transfer.workerCompleted else { return }
        transfer.workerCompleted = true
        transfer.emit(.completed(result))
    }

    /// Hands each transfer the events of this pass in one call, so its caller wakes once per pass, not per event.
    private func deliverEvents() {
        for transfer in workerTouched {
            let events = transfer.workerEvents
            transfer.workerEvents = []
            transfer.delegate.transfer(transfer, didProduce: events)
        }
        workerTouched.removeAll(keepingCapacity: true)
    }

    private static let stoppedError = CurlError(kind: .shutDown, code: -1, message: "worker stopped")
}
