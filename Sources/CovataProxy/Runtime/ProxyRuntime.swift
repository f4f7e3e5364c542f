import CurlClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import ProxyConfiguration
import ProxyObservability

/// Everything a running proxy is made of: the curl worker, the token manager, the route listeners and the admin
/// listener. The CLI runs one; tests start one in-process on port 0.
public final class ProxyRuntime: Sendable {
    public let config: ProxyConfig
    public let tokens: TokenManager
    let worker: CurlWorker
    let settings: RuntimeSettings
    let metrics: ProxyMetrics
    private let group: MultiThreadedEventLoopGroup
    private let listeners: [any Channel]
    /// The [::1] channels of listeners named `localhost` (see `ServerBootstrap.bindAll`).
    private let twins: [any Channel]
    private let admin: (any Channel)?
    private let budget: RequestBudget
    private let gate: ConnectionGate
    /// Readiness says `draining` once set.
    private let drain: DrainFlag
    private let logger: Logger

    /// Requests being handled now.
    var inFlightCount: Int { budget.requestsInFlight }

    /// Client connections open now, all listeners together.
    var openConnections: Int { gate.openConnections }

    /// Request-body bytes kept for replays now, across all connections.
    var replayBytesInUse: Int { budget.replayBytesInUse }

    /// The address each route actually listens on, in route order (useful with port 0).
    public var listenAddresses: [ListenAddress] { zip(config.routes.map(\.listen), listeners).map(Self.bound) }

    /// Where the admin listener actually listens, if configured.
    public var adminAddress: ListenAddress? {
        guard let admin, let configured = config.admin?.listen else { return nil }
        return Self.bound(configured, admin)
    }

    private static func bound(_ configured: ListenAddress, _ channel: any Channel) -> ListenAddress {
        if case .tcp(let host, _) = configured, let port = channel.localAddress?.port {
            return .tcp(host: host, port: port)
        }
        return configured
    }

    public static func start(
        config: ProxyConfig, logger: Logger, accessLog: AccessLog, metrics: ProxyMetrics,
        threads: Int = System.coreCount
    ) async throws -> ProxyRuntime {
        if config.tls.insecureSkipVerify {
            logger.warning("tls.insecureSkipVerify is on: upstream certificates are not verified")
        }
        for source in config.secretFiles {
            guard let problem = source.exposure() else { continue }
            logger.warning(
                "secret file readable by others", metadata: ["key": "\(source.keyPath)", "reason": "\(problem)"])
        }
        for hint in config.secretHints {
            logger.warning("literal secret looks like a mistake", metadata: ["reason": "\(hint)"])
        }
        for route in config.routes where !route.listen.isLocalOnly {
            logger.warning(
                "route listener is reachable from other machines; anyone who reaches it acts as the Covata user",
                metadata: ["listen": "\(route.listen)"])
        }
        let worker = CurlWorker(options: config.curlOptions)
        let tokens = TokenManager(
            config: config.oauth, transport: CurlTokenTransport(worker: worker, timeouts: config.timeouts),
            logger: logger, metrics: metrics, loginCommand: config.loginCommand)
        await tokens.start()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let budget = RequestBudget(
            maxRequests: config.limits.maxConcurrentRequests, replayBytes: config.limits.replayBudgetBytes)
        let settings = RuntimeSettings(accessLog: config.log.accessLog)
        let drain = DrainFlag()
        // Half the descriptors for client connections, half for their upstream connections, after a few dozen for
        // listeners, files and the event loops: past that, accepting would fail, and fail again, in a loop.
        var connectionLimit = config.limits.maxConnections
        if let descriptors = Self.openFileLimit(), (descriptors - 64) / 2 < connectionLimit {
            connectionLimit = max(8, (descriptors - 64) / 2)
            logger.warning(
                "the open-file limit leaves room for fewer client connections than limits.maxConnections; raise it (LimitNOFILE=, ulimit -n) or lower limits.maxConnections",
                metadata: [
                    "limit": .stringConvertible(descriptors),
                    "max_connections": .stringConvertible(config.limits.maxConnections),
                    "accepting_at_most": .stringConvertible(connectionLimit),
                ])
        }
        let gate = ConnectionGate(limit: connectionLimit)
        var listeners: [any Channel] = []
        /// `localhost`'s second channel ([::1]), beside each listener that has one.
        var twins: [any Channel] = []
        var admin: (any Channel)?
        do {
            let redirects = SharedRedirects()
            for (index, route) in config.routes.enumerated() {
                let forwarder = Forwarder(
                    route: route, index: index, redirects: redirects, upstream: worker, tokens: tokens,
                    timeouts: config.timeouts, limits: config.limits,
                    budget: budget, metrics: metrics, settings: settings, logger: logger,
                    accessLog: accessLog)
                do {
                    let channels = try await RouteListener.bind(
                        route.listen, group: group, forwarder: forwarder, timeouts: config.timeouts, gate: gate)
                    listeners.append(channels[0])
                    twins += channels.dropFirst()
                } catch {
                    throw ListenerError(keyPath: "routes[\(index)].listen", address: route.listen, error)
                }
            }
            redirects.set(
                RedirectRewriter(
                    targets: zip(config.routes, listeners).map {
                        RedirectRewriter.Target($0, bound: bound($0.listen, $1))
                    }))
            // The admin listener comes after the routes, so readiness is only reported once they are up.
            if let address = config.admin?.listen {
                let endpoints = AdminEndpoints(
                    tokens: tokens, drain: drain, metrics: metrics,
                    routes: zip(config.routes, listeners).map { ("\(bound($0.listen, $1))", "\($0.upstream)") })
                do {
                    let channels = try await AdminListener.bind(
                        address, group: group, endpoints: endpoints, timeouts: config.timeouts, gate: gate)
                    admin = channels[0]
                    twins += channels.dropFirst()
                } catch {
                    throw ListenerError(keyPath: "admin.listen", address: address, error)
                }
            }
        } catch {
            for channel in listeners + twins { try? await channel.close() }
            await tokens.stop()
            worker.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
        let runtime = ProxyRuntime(
            config: config, tokens: tokens, worker: worker, settings: settings, metrics: metrics, group: group,
            listeners: listeners, twins: twins, admin: admin, budget: budget, gate: gate, drain: drain,
            logger: logger)
        for address in runtime.listenAddresses { logger.info("listening", metadata: ["address": "\(address)"]) }
        if let address = runtime.adminAddress { logger.info("admin listening", metadata: ["address": "\(address)"]) }
        return runtime
    }

    private init(
        config: ProxyConfig, tokens: TokenManager, worker: CurlWorker, settings: RuntimeSettings,
        metrics: ProxyMetrics, group: MultiThreadedEventLoopGroup, listeners: [any Channel], twins: [any Channel],
        admin: (any Channel)?, budget: RequestBudget, gate: ConnectionGate, drain: DrainFlag, logger: Logger
    ) {
        self.config = config
        self.tokens = tokens
        self.worker = worker
        self.settings = settings
        self.metrics = metrics
        self.group = group
        self.listeners = listeners
        self.twins = twins
        self.admin = admin
        self.budget = budget
        self.gate = gate
        self.drain = drain
        self.logger = logger
    }

    /// The soft open-file limit, from /proc/self/limits (nil where that cannot be read).
    static func openFileLimit() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/limits", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Max open files") })
        else { return nil }
        return line.dropFirst("Max open files".count).split(separator: " ").first.flatMap { Int($0) }
    }

    /// Applies a reloaded config: credentials, token timing and the access log. Listeners, routes and TLS stay
    /// as they were (they need a restart); requests in flight are not touched.
    public func reload(_ newConfig: ProxyConfig) async {
        let old = await tokens.config
        // Which secrets changed, by key (never their values): systemd's credentials are copied when the service
        // starts, so a rotated credential file changes nothing until a restart, and an operator must be told.
        var changed: [String] = []
        if newConfig.oauth.clientSecret != old.clientSecret { changed.append("oauth.clientSecret") }
        if case .password(_, let new) = newConfig.oauth.signIn, case .password(_, let previous) = old.signIn,
            new != previous
        {
            changed.append("oauth.password")
        }
        await tokens.update(config: newConfig.oauth)
        settings.accessLog = newConfig.log.accessLog
        if newConfig.routes != config.routes || newConfig.tls != config.tls || newConfig.admin != config.admin {
            logger.warning("reload: routes, admin and tls changes take effect only after a restart")
        }
        if newConfig.oauth.stateFile != config.oauth.stateFile {
            logger.warning("reload: oauth.stateFile and oauth.stateKey changes take effect only after a restart")
        }
        logger.info(
            "configuration reloaded",
            metadata: ["secrets_changed": .array(changed.map { .string($0) })])
        let credentials = newConfig.secretFiles.filter { $0.fromSystemdCredential }
        if changed.isEmpty, !credentials.isEmpty {
            logger.notice(
                "systemd credentials are copied when the service starts: a rotated credential file takes effect on restart (systemctl restart covata-proxy)",
                metadata: ["keys": .array(credentials.map { .string($0.keyPath) })])
        }
    }

    /// Stops accepting, lets in-flight requests finish for up to `timeouts.drainSeconds`, then ends the token
    /// refresher and releases every thread (closing connections still open).
    public func stop() async {
        await drain()
        await tokens.stop()
        release()
    }

    /// Stops accepting and asks every connection to finish (`ConnectionGate.quiesce`): an idle keep-alive
    /// connection closes at once, one with a request in progress answers it with `Connection: close` and closes.
    /// Connections still open after `timeouts.drainSeconds` are closed.
    public func drain() async {
        drain.begin()
        for channel in listeners + twins { try? await channel.close() }
        if budget.requestsInFlight > 0 {
            logger.info("draining", metadata: ["in_flight": .stringConvertible(budget.requestsInFlight)])
        }
        gate.quiesce()
        let drained = await withTaskGroup(of: Bool.self) { group in
            group.addTask { [gate] in
                await gate.allClosed()
                return true
            }
            group.addTask { [drainSeconds = config.timeouts.drainSeconds] in
                try? await Task.sleep(for: .milliseconds(Int64(drainSeconds * 1000)))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !drained {
            logger.warning(
                "drain time over; closing", metadata: ["in_flight": .stringConvertible(budget.requestsInFlight)])
            gate.closeAll()
        }
        try? await admin?.close()
    }

    /// Releases curl's thread and the event loops; after the token manager has stopped (it uses curl).
    public func release() {
        worker.shutdown()
        try? group.syncShutdownGracefully()
        logger.info("stopped")
    }
}

/// A listener that could not be opened, naming its key and address (the bare socket error names neither).
public struct ListenerError: Error, CustomStringConvertible {
    public var keyPath: String
    public var address: ListenAddress
    public var reason: String
    public var description: String { "cannot listen on \(address) (\(keyPath)): \(reason)" }

    /// The reason in an operator's words, not NIO's (`bind(descriptor:ptr:bytes:)`, errno numbers).
    init(keyPath: String, address: ListenAddress, _ error: any Error) {
        self.keyPath = keyPath
        self.address = address
        switch (error as? IOError)?.errnoCode {
        case EADDRINUSE?: reason = "already in use (another process listens there)"
        case EACCES?: reason = "permission denied (ports below 1024 need privileges)"
        case EADDRNOTAVAIL?: reason = "no such address on this machine"
        default: reason = "\(error)"
        }
    }
}
