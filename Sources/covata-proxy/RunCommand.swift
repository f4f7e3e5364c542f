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
            throw ExitCode(1)
        }
        for await number in signals.stream {
            if number == SIGHUP {
                await reload(runtime, level: level, logger: logger)
                continue
            }
            logger.info("stopping", metadata: ["signal": "\(number)"])
            break
        }
        await runtime.stop()
    }

    /// Re-reads proxy.json and secret files. A broken file is refused and the running config stays.
    private func reload(_ runtime: ProxyRuntime, level: LogLevelSwitch, logger: Logger) async {
        do {
            var config = try ProxyConfig.load(path: options.config)
            if let level = options.logLevel { config.log.level = level }
            level.current = Logger.Level(rawValue: config.log.level) ?? .info
            await runtime.reload(config)
        } catch {
            logger.error("reload refused; keeping the running configuration", metadata: ["reason": "\(error)"])
        }
    }
}
