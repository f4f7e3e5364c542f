import ArgumentParser
import CovataProxy
import Dispatch
import Foundation
import Logging

/// Runs the proxy until SIGINT or SIGTERM; SIGHUP reloads proxy.json and its secrets.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the proxy (the default).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.load()
        let metrics = MetricsBootstrap.makeMetrics()
        let logging = LoggingBootstrap.makeLogger(config.log, background: true, droppedLines: metrics.logLinesDropped)
        let (logger, level) = (logging.logger, logging.level)
        defer { logging.writer.flush() }
        signal(SIGPIPE, SIG_IGN)
        let signals = SignalStream(SIGINT, SIGTERM, SIGHUP)
        let runtime: ProxyRuntime
        do {
            runtime = try await ProxyRuntime.start(config: config, logger: logger, metrics: metrics)
        } catch {
            logger.critical("could not start listeners", metadata: ["error": "\(error)"])
            logging.writer.flush()
            FileHandle.standardError.write(Data("covata-proxy: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let systemd = SystemdNotifier(environment: ProcessInfo.processInfo.environment)
        let reporting = Task { await Self.reportToSystemd(systemd, tokens: runtime.tokens) }
        defer { reporting.cancel() }
        // SIGHUP and a changed config or secret file both reload; SIGINT and SIGTERM stop.
        let (wakes, wake) = AsyncStream.makeStream(of: Wake.self)
        let watcher = FileChangeWatcher()
        watcher.watch(config.watchedFiles)
        let listening = [
            Task { for await number in signals.stream { wake.yield(.signal(number)) } },
            Task { for await paths in watcher.changes() { wake.yield(.filesChanged(paths)) } },
        ]
        defer { for task in listening { task.cancel() } }
        loop: for await event in wakes {
            switch event {
            case .signal(SIGHUP):
                await reload(runtime, level: level, watcher: watcher, systemd: systemd, logger: logger)
            case .filesChanged(let paths):
                logger.info("watched file changed; reloading", metadata: ["paths": "\(paths.joined(separator: ", "))"])
                await reload(runtime, level: level, watcher: watcher, systemd: systemd, logger: logger)
            case .signal(let number):
                logger.info("stopping", metadata: ["signal": .stringConvertible(Int(number))])
                break loop
            }
        }
        await systemd.notify(["STOPPING=1", "STATUS=draining"])
        await runtime.stop()
    }

    /// Under systemd (`Type=notify`): READY=1 once the listeners are up (they are, here) and a token is held, or as
    /// soon as only an operator can help (rejected credentials, sign-in required: `systemctl start` should not hang on
    /// those, and restarting would only repeat the refused login); then STATUS= whenever the token state changes.
    private static func reportToSystemd(_ systemd: SystemdNotifier, tokens: TokenManager) async {
        guard systemd.isActive else { return }
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

    private enum Wake {
        case signal(Int32)
        case filesChanged([String])
    }

    /// Re-reads proxy.json and secret files. A broken file is refused and the running config stays; a good one also
    /// sets which files are watched.
    private func reload(
        _ runtime: ProxyRuntime, level: LogLevelSwitch, watcher: FileChangeWatcher, systemd: SystemdNotifier,
        logger: Logger
    ) async {
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
