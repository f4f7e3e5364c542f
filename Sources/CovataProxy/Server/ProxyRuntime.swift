import CurlClient
import Logging
import NIOCore
import NIOPosix

/// Everything a running proxy is made of: the curl worker, the token manager and the route listeners.
/// The CLI runs one; tests start one in-process on port 0.
public final class ProxyRuntime: Sendable {
    public let config: ProxyConfig
    public let tokens: TokenManager
    let worker: CurlWorker
    private let group: MultiThreadedEventLoopGroup
    private let listeners: [any Channel]
    private let inFlight: InFlightRequests
    private let logger: Logger

    /// The address each route actually listens on, in route order (useful with port 0).
    public var listenAddresses: [ListenAddress] {
        zip(config.routes, listeners).map { route, channel in
            if case .tcp(let host, _) = route.listen, let port = channel.localAddress?.port {
                return .tcp(host: host, port: port)
            }
            return route.listen
        }
    }

    public static func start(
        config: ProxyConfig, logger: Logger, transport: (any TokenTransport)? = nil,
        threads: Int = System.coreCount
    ) async throws -> ProxyRuntime {
        if config.tls.insecureSkipVerify {
            logger.warning("tls.insecureSkipVerify is on: upstream certificates are not verified")
        }
        let worker = CurlWorker(options: config.curlOptions)
        let tokens = TokenManager(
            config: config.oauth, transport: transport ?? CurlTokenTransport(worker: worker, timeouts: config.timeouts),
            logger: logger)
        await tokens.start()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        var listeners: [any Channel] = []
        let inFlight = InFlightRequests()
        do {
            for route in config.routes {
                let forwarder = Forwarder(
                    route: route, worker: worker, tokens: tokens, timeouts: config.timeouts, limits: config.limits,
                    inFlight: inFlight,
                    logger: logger)
                listeners.append(
                    try await RouteListener.bind(route.listen, group: group, forwarder: forwarder, timeouts: config.timeouts))
            }
        } catch {
            for channel in listeners { try? await channel.close() }
            await tokens.stop()
            worker.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
        let runtime = ProxyRuntime(
            config: config, tokens: tokens, worker: worker, group: group, listeners: listeners, inFlight: inFlight,
            logger: logger)
        for address in runtime.listenAddresses {
            logger.info("listening", metadata: ["address": "\(address)"])
        }
        return runtime
    }

    private init(
        config: ProxyConfig, tokens: TokenManager, worker: CurlWorker, group: MultiThreadedEventLoopGroup,
        listeners: [any Channel], inFlight: InFlightRequests, logger: Logger
    ) {
        self.inFlight = inFlight
        self.config = config
        self.tokens = tokens
        self.worker = worker
        self.group = group
        self.listeners = listeners
        self.logger = logger
    }

    /// Stops accepting, lets in-flight requests finish for up to `timeouts.drainSeconds`, then ends the token
    /// refresher and releases every thread (closing connections still open).
    public func stop() async {
        for channel in listeners { try? await channel.close() }
        let deadline = ContinuousClock.now + .milliseconds(Int64(config.timeouts.drainSeconds * 1000))
        if inFlight.current > 0 { logger.info("draining", metadata: ["in_flight": "\(inFlight.current)"]) }
        while inFlight.current > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if inFlight.current > 0 { logger.warning("drain time over; closing", metadata: ["in_flight": "\(inFlight.current)"]) }
        await tokens.stop()
        worker.shutdown()
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }
}
