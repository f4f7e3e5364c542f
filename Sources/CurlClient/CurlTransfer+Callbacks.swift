import CCurl
import NIOCore

// libcurl's C callbacks. They run on the worker thread, inside curl_multi_perform or curl_easy_pause.

let curlWriteTrampoline: curl_write_callback = { data, size, count, userdata in
    guard let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
}

let curlHeaderTrampoline: curl_write_callback = { data, size, count, userdata in
    guard let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    // Returning less than the line's length makes curl abort the transfer and close the connection.
    return transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
}

let curlReadTrampoline: curl_read_callback = { buffer, size, count, userdata in
    guard let userdata, let buffer else { return cp_readfunc_abort() }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.fillUpload(UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
}

extension CurlTransfer {
    /// False aborts the transfer: the upstream's head is one we must not pass on.
    func receiveHeaderLine(_ line: UnsafeRawBufferPointer) -> Bool {
        guard !workerHeadDelivered else { return true }
        let head = workerHeadParser.feed(line)
        guard workerHeadParser.problem == nil else { return false }
        guard let head else { return true }
        workerHeadDelivered = true
        // RFC 9112 §6.3 rule 1: these answers end at their head, so anything after it on the connection is not a
        // response (§9.2); never reuse such a connection in case more bytes follow.
        if let easy = workerEasy, request.method == "HEAD" || head.status == 204 || head.status == 304 {
            _ = cp_setopt_long(easy, CURLOPT_FORBID_REUSE, 1)
        }
        emit(.head(head))
        return true
    }

    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        let accepted = down.withLock { state -> Bool in
            guard state.inFlight < Self.receiveHighWater else {
                state.curlWaiting = true
                return false
            }
            state.inFlight += bytes.count
            return true
        }
        guard accepted else {
            // curl keeps these bytes and delivers them again after we unpause.
            workerRecvPaused = true
            return cp_writefunc_pause()
        }
        emit(.body(ByteBuffer(bytes: bytes)))
        return bytes.count
    }

    func fillUpload(_ target: UnsafeMutableRawBufferPointer) -> Int {
        var written = 0
        let (pause, wakeProducer) = up.withLock { state -> (Bool, Bool) in
            while written < target.count, var front = state.queue?.first {
                let n = min(front.readableBytes, target.count - written)
                front.withUnsafeReadableBytes { source in
                    UnsafeMutableRawBufferPointer(rebasing: target[written..<(written + n)])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<n]))
                }
                front.moveReaderIndex(forwardBy: n)
                written += n
                if front.readableBytes == 0 {
                    state.queue!.removeFirst()
                } else {
                    state.queue![state.queue!.startIndex] = front
                }
            }
            state.queued -= written
            var wake = false
            if state.producerBlocked, state.queued <= uploadDepth / 4 {
                state.producerBlocked = false
                wake = true
            }
            if written == 0, !state.ended {
                state.curlWaiting = true
                return (true, wake)
            }
            return (false, wake)
        }
        if wakeProducer { emit(.canAcceptMoreBody) }
        if pause {
            workerSendPaused = true
            return cp_readfunc_pause()
        }
        return written
    }
}
