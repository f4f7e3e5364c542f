import CCurl
import NIOCore
import Synchronization

/// One upstream exchange, shared by the caller's thread and the curl worker.
///
/// Fields touched by both sides sit behind the two mutexes; the `worker*` fields belong to the worker thread alone.
public final class CurlTransfer: @unchecked Sendable {  // shared state is in Mutexes; the rest is worker-thread only
    /// Bytes of response body handed to the delegate but not yet consumed, and whether curl is paused on it.
    struct Down {
        var inFlight = 0
        var curlWaiting = false
    }

    /// The upload queue between the caller and curl's read callback.
    struct Up {
        /// Made by the first part queued: most requests upload nothing, and a ring allocates its slots at once.
        /// A ring, not an array: a chunked upload of tiny chunks queues thousands of parts, taken from the front.
        var queue: CircularBuffer<ByteBuffer>?
        var queued = 0
        var ended = false

        mutating func enqueue(_ buffer: ByteBuffer) {
            if queue == nil { queue = CircularBuffer() }
            queue!.append(buffer)
            queued += buffer.readableBytes
        }
        var curlWaiting = false
        var producerBlocked = false
    }

    public let request: CurlRequest
    let delegate: any CurlTransferDelegate
    /// Strong: the worker drops its references to a transfer when it finishes, so no cycle outlives it.
    let worker: CurlWorker

    let down = Mutex(Down())
    let up = Mutex(Up())

    static let receiveHighWater = 512 * 1024
    static let receiveLowWater = 128 * 1024

    /// How much of a streamed upload may wait between the caller and the upstream: the send queue's high water, and
    /// curl's upload buffer (curl sends what one read callback filled in one go). Deep while few uploads stream, so
    /// one upload runs at full speed (256 KiB beat curl's 64 KiB and 1 MiB: about 1650, 1490 and 1570 MiB/s for
    /// 1 GiB); shallow beyond `deepUploads` of them, so memory under many grows by a quarter as much per upload.
    public let uploadDepth: Int
    public static let deepUploadDepth = 256 * 1024
    static let shallowUploadDepth = 64 * 1024
    static let deepUploads = 8

    // Worker-thread only, each access whole before the next: no run-time exclusivity check (~1% of a request).
    @exclusivity(unchecked) var workerEasy: UnsafeMutableRawPointer?
    @exclusivity(unchecked) var workerHeaderList: UnsafeMutablePointer<curl_slist>?
    @exclusivity(unchecked) var workerRecvPaused = false
    @exclusivity(unchecked) var workerSendPaused = false
    @exclusivity(unchecked) var workerHeadParser = CurlHeadParser()
    @exclusivity(unchecked) var workerHeadDelivered = false
    @exclusivity(unchecked) var workerCompleted = false
    /// Where the worker keeps it while curl runs it (`CurlWorker.live`); nil before and after.
    @exclusivity(unchecked) var workerSlot: Int?
    /// Events not yet handed to the delegate; the worker delivers them at the end of its pass.
    @exclusivity(unchecked) var workerEvents: [CurlTransferEvent] = []

    init(request: CurlRequest, delegate: any CurlTransferDelegate, worker: CurlWorker) {
        self.request = request
        self.delegate = delegate
        self.worker = worker
        if case .stream = request.body {
            let streaming = worker.streamingUploads.add(1, ordering: .relaxed).newValue
            uploadDepth = streaming <= Self.deepUploads ? Self.deepUploadDepth : Self.shallowUploadDepth
        } else {
            uploadDepth = Self.deepUploadDepth
        }
        if case .bytes(let bytes) = request.body {
            up.withLock { state in
                state.enqueue(ByteBuffer(bytes: bytes))
                state.ended = true
            }
        }
    }

    deinit {
        if case .stream = request.body { worker.streamingUploads.subtract(1, ordering: .relaxed) }
    }

    /// Queues an event for the delegate. Worker-thread only.
    func emit(_ event: CurlTransferEvent) {
        if workerEvents.isEmpty {
            worker.workerTouched.append(self)
            // A small answer's head, body and end in one allocation: growing from empty took three.
            workerEvents.reserveCapacity(4)
        }
        workerEvents.append(event)
    }

    /// Reports that `count` bytes of response body were written onward; may let curl resume receiving.
    public func didConsume(_ count: Int) {
        let resume = down.withLock { state -> Bool in
            state.inFlight -= count
            guard state.curlWaiting, state.inFlight <= Self.receiveLowWater else { return false }
            state.curlWaiting = false
            return true
        }
        if resume { worker.submit(.resumeReceiving(self)) }
    }

    /// Queues a piece of a streamed request body. Returns false when the queue is above its high-water mark:
    /// stop producing until `transferCanAcceptMoreBody` is called.
    @discardableResult
    public func send(_ buffer: ByteBuffer) -> Bool {
        let (resume, accepting) = up.withLock { state -> (Bool, Bool) in
            state.enqueue(buffer)
            let accepting = state.queued < uploadDepth
            if !accepting { state.producerBlocked = true }
            let resume = state.curlWaiting
            state.curlWaiting = false
            return (resume, accepting)
        }
        if resume { worker.submit(.resumeSending(self)) }
        return accepting
    }

    /// Ends a streamed request body.
    public func finishSending() {
        let resume = up.withLock { state -> Bool in
            state.ended = true
            let resume = state.curlWaiting
            state.curlWaiting = false
            return resume
        }
        if resume { worker.submit(.resumeSending(self)) }
    }

    /// Stops the transfer; the delegate sees `.cancelled` unless it already completed.
    public func cancel() {
        worker.submit(.cancel(self))
    }
}
