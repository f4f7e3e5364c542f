import NIOCore

/// Once a request is sent, the upstream has `firstByteSeconds` to start its answer, else 504.
///
/// One timer per connection rather than one per request: a request only records its deadline, and the timer,
/// when it fires, looks at the exchange current then and waits on if that one's deadline is later.
extension ForwardingHandler {
    func startFirstByteTimer(_ exchange: Exchange) {
        guard exchange.firstByteDeadline == nil else { return }
        let deadline = NIODeadline.now() + .milliseconds(forwarder.firstByteMilliseconds)
        exchange.firstByteDeadline = deadline
        if firstByteTimer == nil { scheduleFirstByteCheck(at: deadline) }
    }

    func stopFirstByteTimer() {
        firstByteTimer?.cancel()
        firstByteTimer = nil
    }

    private func scheduleFirstByteCheck(at deadline: NIODeadline) {
        guard let context else { return }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        firstByteTimer = context.eventLoop.scheduleTask(deadline: deadline) { handler.value.checkFirstByte() }
    }

    private func checkFirstByte() {
        firstByteTimer = nil
        guard let exchange, let deadline = exchange.firstByteDeadline, !exchange.responseHeadSent,
            exchange.heldUnauthorized == nil
        else { return }
        guard deadline <= .now() else {
            scheduleFirstByteCheck(at: deadline)
            return
        }
        forwarder.logger.warning(
            "upstream sent no response in time", metadata: ["route": "\(forwarder.route.upstream)"])
        fail(exchange, .upstreamTimedOut)
    }
}
