import ProxyConfiguration
import ProxyObservability
import ArgumentParser
import CovataProxy
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Runs the proxy until SIGINT or SIGTERM; SIGHUP (or a changed config or secret file) reloads proxy.json and its
/// secrets. The parts run as one swift-service-lifecycle ServiceGroup: the log writer, the token manager, the
/// runtime, the systemd reporter, the heap scavenger and the signal handler, stopped in reverse (see
/// `ProxyServices.swift`).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the proxy (the default).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.load()
        // The files' baseline is what was just read: a change from now on reloads, however soon it comes.
        let watcher = FileChangeWatcher()
        watcher.watch(config.watchedFiles)
        let metrics = MetricsBootstrap.makeMetrics()
        let logging = LoggingBootstrap.makeLogger(config.log, background: true, droppedLines: metrics.logLinesDropped)
        let logger = logging.logger
        defer { logging.writer.flush() }
        signal(SIGPIPE, SIG_IGN)
        // Trapped before the listeners open: a SIGTERM from now on drains rather than kills.
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
        let runtime: ProxyRuntime
        do {
            runtime = try await ProxyRuntime.start(
                config: config, logger: logger, accessLog: logging.accessLog, metrics: metrics)
        } catch {
            logger.critical("could not start listeners", metadata: ["error": "\(error)"])
            logging.writer.flush()
            FileHandle.standardError.write(Data("covata-proxy: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let systemd = SystemdNotifier(environment: ProcessInfo.processInfo.environment)
        let handler = SignalService(
            signals: signals, watcher: watcher, runtime: runtime, options: options, level: logging.level,
            systemd: systemd, logger: logger)
        // A service that returns (the signal handler, on SIGTERM) stops the whole group gracefully.
        let services: [any Service] = [
            logging.writer, runtime.tokens, runtime, SystemdReporter(systemd: systemd, tokens: runtime.tokens),
            HeapScavenger(logger: logger), handler,
        ]
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map {
                    .init(
                        service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                        failureTerminationBehavior: .gracefullyShutdownGroup)
                },
                logger: logger))
        try await group.run()
        runtime.release()
    }
}

/// SIGHUP and a changed config or secret file reload; SIGINT and SIGTERM return, which stops the group.
private struct SignalService: Service {
    let signals: UnixSignalsSequence
    let watcher: FileChangeWatcher
    let runtime: ProxyRuntime
    let options: ConfigOptions
    let level: LogLevelSwitch
    let systemd: SystemdNotifier
    let logger: Logger

    private enum Wake {
        case signal(UnixSignal)
        case filesChanged([String])
    }

    func run() async throws {
        let (wakes, wake) = AsyncStream.makeStream(of: Wake.self)
        let listening = [
            Task { for await signal in signals { wake.yield(.signal(signal)) } },
            Task { for await paths in watcher.changes() { wake.yield(.filesChanged(paths)) } },
        ]
        defer { for task in listening { task.cancel() } }
        for await event in wakes.cancelOnGracefulShutdown() {
            switch event {
            case .signal(.sighup):
                await reload()
            case .filesChanged(let paths):
                logger.info("watched file changed; reloading", metadata: ["paths": "\(paths.joined(separator: ", "))"])
                await reload()
            case .signal(let signal):
                logger.info("stopping", metadata: ["signal": .stringConvertible(Int(signal.rawValue))])
                return
            }
        }
    }

    /// Re-reads proxy.json and secret files. A broken file is refused and the running config stays; a good one also
    /// sets which files are watched.
    private func reload() async {
        await systemd.notify(["RELOADING=1"])
        do {
            var config = try ProxyConfig.load(path: options.config)
            if let level = try options.overridingLevel() { config.log.level = level }
            level.current = config.log.level
            await runtime.reload(config)
            watcher.watch(config.watchedFiles)
        } catch {
            logger.error("reload refused; keeping the running configuration", metadata: ["reason": "\(error)"])
        }
        await systemd.notify(["READY=1", SystemdNotifier.status(await runtime.tokens.status())])
    }
}

/// Under systemd (`Type=notify`): READY=1 once the listeners are up (they are, here) and a token is held, or as soon
/// as only an operator can help (rejected credentials, sign-in required: `systemctl start` should not hang on those,
/// and restarting would only repeat the refused login); then STATUS= whenever the token state changes; STOPPING=1
/// when the group stops (before the runtime drains).
private struct SystemdReporter: Service {
    let systemd: SystemdNotifier
    let tokens: TokenManager

    func run() async throws {
        guard systemd.isActive else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown { await report() }
        await systemd.notify(["STOPPING=1", "STATUS=draining"])
    }

    private func report() async {
        var ready = false
        var last = ""
        while !Task.isCancelled {
            let token = await tokens.status()
            let status = SystemdNotifier.status(token)
            if !ready, token.hasValidToken || token.credentialsRejected || token.signInRequired {
                ready = true
                last = status
                await systemd.notify(["READY=1", status])
            } else if ready, status != last {
                last = status
                await systemd.notify([status])
            }
            try? await Task.sleep(for: .milliseconds(ready ? 1000 : 100))
        }
    }
}
