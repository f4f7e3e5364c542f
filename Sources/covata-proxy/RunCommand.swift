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
                await reload(runtime, level: level, watcher: watcher, logger: logger)
            case .filesChanged(let paths):
                logger.info("watched file changed; reloading", metadata: ["paths": "\(paths.joined(separator: ", "))"])
                await reload(runtime, level: level, watcher: watcher, logger: logger)
            case .signal(let number):
                logger.info("stopping", metadata: ["signal": "\(number)"])
                break loop
            }
        }
        await runtime.stop()
    }

    private enum Wake {
        case signal(Int32)
        case filesChanged([String])
    }

    /// Re-reads proxy.json and secret files. A broken file is refused and the running config stays; a good one also
    /// sets which files are watched.
    private func reload(_ runtime: ProxyRuntime, level: LogLevelSwitch, watcher: FileChangeWatcher, logger: Logger)
        async
    {
        do {
            var config = try ProxyConfig.load(path: options.config)
            if let level = options.logLevel { config.log.level = level }
            level.current = Logger.Level(rawValue: config.log.level) ?? .info
            await runtime.reload(config)
            watcher.watch(config.watchedFiles)
        } catch {
            logger.error("reload refused; keeping the running configuration", metadata: ["reason": "\(error)"])
        }
    }
}
