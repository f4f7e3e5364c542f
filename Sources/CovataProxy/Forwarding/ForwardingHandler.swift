import CurlClient
import NIOCore
import NIOHTTP1

/// One client connection on a route: reads requests, forwards each through curl, streams the answer back.
///
/// The handler decides nothing about the connection's course: it turns channel, token and curl events into
/// `ExchangeMachine` events and performs the actions the machine returns (`run`). What it keeps is data: the
/// current exchange's `ExchangeRecord`, the first-byte timer, the future of the last answer written.
///
/// Backpressure both ways: reads from the client stop while curl's upload queue is full, and curl pauses
/// receiving while too much of the response is still unwritten to the client (see `CurlTransfer`).
final class ForwardingHandler: ChannelDuplexHandler {
    typealias InboundIn = ClientRequestPart
    typealias OutboundIn = ClientResponsePart
    typealias OutboundOut = ClientResponsePart

    let forwarder: Forwarder
    /// Where the connection is, for `ClientTimeoutHandler`: moved on from the machine's phase.
    private let cycle: ConnectionCycle
    // Event-loop only, each access whole before the next: no run-time exclusivity check (see `ExchangeRecord`).
    @exclusivity(unchecked) var machine: ExchangeMachine
    /// The request in progress, while the machine is busy with it.
    @exclusivity(unchecked) var record: ExchangeRecord?
    @exclusivity(unchecked) var context: ChannelHandlerContext?
    /// The connection's one first-byte timer, and the ticket last armed with its deadline (see `armFirstByteTimer`).
    @exclusivity(unchecked) private var firstByteTimer: Scheduled<Void>?
    @exclusivity(unchecked) private var firstByteArmed: (ticket: ExchangeMachine.Ticket, deadline: NIODeadline)?
    /// Who is connected, for the access log: the peer's IP address, or `unix`.
    @exclusivity(unchecked) private var client = "-"
    /// The largest read asked of the channel: the listener's (`readSizes`) until an upload with a shallower depth.
    @exclusivity(unchecked) private var readLimit = CurlTransfer.deepUploadDepth

    init(forwarder: Forwarder, cycle: ConnectionCycle) {
        self.forwarder = forwarder
        self.cycle = cycle
        self.machine = ExchangeMachine(
            maxBodyBytes: forwarder.limits.maxRequestBodyBytes,
            answersHalfClosedClients: forwarder.limits.answerHalfClosedClients)
    }

    // MARK: - Channel events into the machine

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopFirstByteTimer()
        self.context = nil
    }

    func read(context: ChannelHandlerContext) {
        run(machine.read())
    }

    func channelActive(context: ChannelHandlerContext) {
        forwarder.metrics.connectionOpened()
        switch context.channel.remoteAddress {
        case .unixDomainSocket?: client = "unix"
        case let address?: client = address.ipAddress ?? "-"
        case nil: break
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        forwarder.metrics.connectionClosed()
        stopFirstByteTimer()
        run(machine.connectionClosed())
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        run(machine.requestPart(unwrapInboundIn(data)))
        // The phase moves with the request's parts and its answer's end (below), nowhere else that matters: a
        // connection that closes needs no client limit.
        cycle.follow(machine.clientPhase)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        run(machine.readComplete())
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        // RFC 9110 §15.5 and §15.6.6, from the decoder; the connection ends, as the next request cannot be found.
        case let refusal as RequestRefusal:
            run(machine.protocolRefusal(refusal.status))
        default:
            context.fireErrorCaught(error)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ClientTimeout.bodyStalled: run(machine.bodyStalled())
        case ClientTimeout.headTooSlow: run(machine.headTimedOut())
        case ChannelEvent.inputClosed: run(machine.inputEnded())
        case is ChannelShouldQuiesceEvent: run(machine.quiesce())
        default: context.fireUserInboundEventTriggered(event)
        }
    }

    // MARK: - The machine's actions

    func run(_ action: ExchangeMachine.Action) {
        switch action {
        case .none:
            break
        case .read:
            context?.read()
        case .check(let request, let id):
            check(request, exchange: id)
        case .findToken(let id):
            findToken(exchange: id)
        case .startTransfer(let ticket, let requestEnded):
            startTransfer(ticket, requestEnded: requestEnded)
        case .acceptBody(let buffer, let send):
            guard let record else { return }
            record.bytesIn += Int64(buffer.readableBytes)
            record.keep(buffer, limit: forwarder.limits.replayBufferBytes, budget: forwarder.budget)
            if !send {
                record.waitingBody.append(buffer)
            } else if let transfer = record.transfer, !transfer.send(buffer) {
                run(machine.uploadFilled())
            }
        case .finishSending(let ticket):
            record?.transfer?.finishSending()
            if let ticket { armFirstByteTimer(ticket) }
        case .answer(let error, let closes):
            answer(error, closes: closes)
        case .writeEnd:
            guard let context else { return }
            context.write(wrapOutboundOut(.end), promise: nil)
            answered()
        case .relayHeld(let retireToken, let closes):
            relayHeld(retireToken: retireToken, closes: closes)
        case .retireToken(let id):
            retireToken(exchange: id)
        case .refuse(let status, let endsExchange):
            refuse(status, endsExchange: endsExchange)
        case .answerAlone(let error):
            writeAndClose(OwnAnswers.alone(error))
        case .cutShort:
            cutShort()
        case .abandon:
            // A client that goes away cancels its upstream transfer.
            record?.transfer?.cancel()
            endExchange()
        case .closeWhenWritten:
            closeWhenWritten()
        case .drainQueue:
            guard let context else { return }
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.execute { handler.value.drainQueue() }
        case .report(let report, let then):
            self.report(report)
            run(then)
        case .relayHead, .holdHead, .relayBody, .holdBody, .dropBody, .writeWhole:
            // Answers to upstream events, performed where the event's data is (ForwardingHandler+Upstream).
            assertionFailure("\(action) outside its upstream event")
        }
    }

    @inline(never)
    private func report(_ report: ExchangeMachine.Report) {
        switch report {
        case .upstreamTimedOut:
            forwarder.logger.warning(
                "upstream sent no response in time", metadata: ["route": "\(forwarder.route.upstream)"])
        case .upstreamFailed(let error, midAnswer: true):
            forwarder.logger.warning(
                "upstream failed mid-response", metadata: ["curl_code": .stringConvertible(error.code)])
        case .upstreamFailed(let error, midAnswer: false):
            forwarder.logger.warning(
                "upstream request failed",
                metadata: ["curl_code": .stringConvertible(error.code), "reason": "\(error.message)"])
        case .replaying:
            forwarder.metrics.replayed()
            forwarder.logger.info(
                "upstream rejected the token; replaying once", metadata: ["jti": "\(record?.token?.jti ?? "-")"])
        }
    }

    // The rare actions stay out of `run`, which every event goes through.
    @inline(never)
    private func refuse(_ status: HTTPResponseStatus, endsExchange: Bool) {
        if endsExchange, let record {
            record.transfer?.cancel()
            record.status = Int(status.code)
            endExchange()
        }
        writeAndClose(OwnAnswers.bare(status))
    }

    @inline(never)
    private func cutShort() {
        record?.transfer?.cancel()
        endExchange()
        // What was written in this batch goes out first: a client must see a truncated answer, never none (it
        // might retry a request the upstream already acted on).
        context?.flush()
        context?.close(promise: nil)
    }

    @inline(never)
    private func drainQueue() {
        while let action = machine.nextQueued() { run(action) }
        run(machine.queueDrained())
        cycle.follow(machine.clientPhase)
    }

    /// The current request's answer has been handed to the channel whole.
    func answered() {
        guard record != nil else { return }
        endExchange()
        run(machine.answerWritten())
        cycle.follow(machine.clientPhase)
    }

    /// The exchange is over: its slot and replay bytes go back to the budget, and it is logged.
    private func endExchange() {
        guard let record else { return }
        self.record = nil
        forwarder.budget.endRequest()
        forwarder.budget.releaseReplay(record.keptBytes)
        record.report(client: client, forwarder: forwarder)
    }

    @inline(never)
    private func writeAndClose(_ head: ClientResponseHead) {
        guard let context else { return }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        closeWhenWritten()
    }

    /// Closes once everything written so far is out (a close alone would cut it short). Writes complete in order,
    /// so an empty one's promise says when: cheaper than a promise for every answer in case it is the last.
    private func closeWhenWritten() {
        guard let context else { return }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.body(ByteBuffer()))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Reads grow up to a deep upload's depth while a client streams a body (NIO's default stops at 64 KiB); small
    /// requests keep small buffers. The listener sets it on every connection.
    static let readSizes = readSizes(upTo: CurlTransfer.deepUploadDepth)

    static func readSizes(upTo limit: Int) -> AdaptiveRecvByteBufferAllocator {
        AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: limit)
    }

    /// Reads the client's body in pieces no larger than its transfer queues: under many uploads each one holds a
    /// quarter as much (a read in hand is memory too). Reads still grow from small while a body streams.
    func readPieces(upTo limit: Int) {
        guard readLimit != limit, let options = context?.channel.syncOptions else { return }
        readLimit = limit
        try? options.setOption(.recvAllocator, value: Self.readSizes(upTo: limit))
    }

    // MARK: - The first-byte timer

    /// Arms the upstream's first-byte limit for `ticket` (the machine's `finishSending`). One timer per connection
    /// rather than one per request: arming only records the ticket and its deadline, and the timer, when it fires,
    /// waits on if the armed deadline is later, else hands the ticket to the machine, which ignores a stale one.
    private func armFirstByteTimer(_ ticket: ExchangeMachine.Ticket) {
        guard let context else { return }
        // The event loop's clock: an embedded loop's moves by hand in tests.
        let deadline = context.eventLoop.now + .milliseconds(forwarder.firstByteMilliseconds)
        firstByteArmed = (ticket, deadline)
        if firstByteTimer == nil { scheduleFirstByteTimer(at: deadline) }
    }

    private func stopFirstByteTimer() {
        firstByteTimer?.cancel()
        firstByteTimer = nil
        firstByteArmed = nil
    }

    private func scheduleFirstByteTimer(at deadline: NIODeadline) {
        guard let context else { return }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        firstByteTimer = context.eventLoop.scheduleTask(deadline: deadline) { handler.value.firstByteTimerFired() }
    }

    private func firstByteTimerFired() {
        firstByteTimer = nil
        guard let (ticket, deadline) = firstByteArmed, let context else { return }
        guard deadline <= context.eventLoop.now else { return scheduleFirstByteTimer(at: deadline) }
        firstByteArmed = nil
        run(machine.firstByteTimedOut(ticket))
    }
}

@available(*, unavailable)
extension ForwardingHandler: Sendable {}
