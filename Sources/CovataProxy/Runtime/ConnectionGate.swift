import NIOCore
import Synchronization

/// Client connections open at once, across every listener (`limits.maxConnections`, lowered to what the open-file
/// limit leaves room for). At the cap the listeners stop accepting — new connections wait in the kernel's backlog —
/// until one closes: nothing is accepted only to be closed, and nothing spins. Running out of descriptors instead
/// would: NIO retries a failed accept at once for as long as the backlog holds a connection.
///
/// It also knows the connections, so a stop can ask each to finish (`quiesce`) and wait until all have closed.
final class ConnectionGate: Sendable {
    private struct State {
        var open = 0
        var channels: [ObjectIdentifier: any Channel] = [:]
        /// Who waits for the last connection to close (a drain).
        var drained: [CheckedContinuation<Void, Never>] = []
        /// Listeners that held an accept back, to be woken when a connection closes (by their handler's identity,
        /// so a listener that closes is forgotten rather than woken on a stopped event loop).
        var waiting: [ObjectIdentifier: @Sendable () -> Void] = [:]
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    var openConnections: Int { state.withLock { $0.open } }

    fileprivate func opened(_ channel: any Channel) {
        state.withLock { state in
            state.open += 1
            state.channels[ObjectIdentifier(channel)] = channel
        }
    }

    fileprivate func closed(_ channel: any Channel) {
        let (wake, drained) = state.withLock { state in
            state.open -= 1
            state.channels[ObjectIdentifier(channel)] = nil
            defer {
                state.waiting.removeAll()
                if state.open == 0 { state.drained.removeAll() }
            }
            return (state.waiting, state.open == 0 ? state.drained : [])
        }
        for listener in wake.values { listener() }
        for waiter in drained { waiter.resume() }
    }

    /// Asks every connection to finish what it is doing and close (NIO's quiescing event, which each connection's
    /// handler acts on).
    func quiesce() {
        for channel in state.withLock({ Array($0.channels.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    /// Returns once no connection is open.
    func allClosed() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state in
                guard state.open > 0 else { return true }
                state.drained.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Closes every connection still open.
    func closeAll() {
        for channel in state.withLock({ Array($0.channels.values) }) { channel.close(promise: nil) }
    }

    /// Whether there is room now; if not, `wake` runs once a connection closes.
    fileprivate func hasRoom(for listener: ObjectIdentifier, orWake wake: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { state in
            guard state.open >= limit else { return true }
            state.waiting[listener] = wake
            return false
        }
    }

    /// A listener that closed is not woken any more.
    fileprivate func forget(_ listener: ObjectIdentifier) {
        _ = state.withLock { $0.waiting.removeValue(forKey: listener) }
    }
}

/// On a listener's server channel: counts what it accepts into the gate and holds back the next accept (`read`)
/// while the gate is full. NIO may accept a few connections in one read, so the cap can be passed by that many.
final class ConnectionGateHandler: ChannelDuplexHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    typealias OutboundIn = Never

    private let gate: ConnectionGate
    private var heldRead = false

    init(gate: ConnectionGate) {
        self.gate = gate
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let gate = self.gate
        let channel = unwrapInboundIn(data)
        gate.opened(channel)
        channel.closeFuture.whenComplete { _ in gate.closed(channel) }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        let handler = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let room = gate.hasRoom(for: ObjectIdentifier(self)) {
            eventLoop.execute {
                let (handler, context) = handler.value
                guard handler.heldRead else { return }
                handler.heldRead = false
                handler.read(context: context)
            }
        }
        guard room else {
            heldRead = true
            return
        }
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        gate.forget(ObjectIdentifier(self))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        gate.forget(ObjectIdentifier(self))
    }
}

@available(*, unavailable)
extension ConnectionGateHandler: Sendable {}
