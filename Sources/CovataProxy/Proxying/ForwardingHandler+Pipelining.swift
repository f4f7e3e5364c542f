import NIOCore
import NIOHTTP1

/// RFC 9112 §9.3.2: a client may send its next requests before the answers; they are answered in order. While a
/// request is in progress, the parts of later ones wait here and reading stops, so a pipelining client can make us
/// hold at most one read's worth. Clients that wait for each answer (nearly all) never touch this, and reading never
/// pauses for them: NIO's pipelining helper paused and resumed reading around every request.
extension ForwardingHandler {
    /// Whether `part` has to wait for the request in progress; if so it is queued.
    func holdsPipelined(_ part: HTTPServerRequestPart) -> Bool {
        if pipelined.isEmpty {
            guard case .head = part, exchange != nil else { return false }
        }
        pipelined.append(part)
        return true
    }

    /// Starts queued requests from a fresh event-loop turn, not from inside the answer that just finished.
    func startPipelinedSoon() {
        guard let context else { return }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute { handler.value.startPipelined() }
    }

    private func startPipelined() {
        guard let context else { return }
        while let part = pipelined.first {
            // The next request waits for the one just started.
            if case .head = part, exchange != nil { return }
            pipelined.removeFirst()
            handle(part, context: context)
        }
        resumeReadsIfWanted()
    }
}
