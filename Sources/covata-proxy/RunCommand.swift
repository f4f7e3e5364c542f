import ArgumentParser
import CovataProxy
import Foundation
import Logging

/// Runs the proxy until SIGINT or SIGTERM.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the proxy (the default).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.load()
        let logger = LoggingBootstrap.makeLogger(config.log)
        signal(SIGPIPE, SIG_IGN)
        let runtime: ProxyRuntime
        do {
            runtime = try await ProxyRuntime.start(config: config, logger: logger)
        } catch {
            logger.critical("could not start listeners", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        let stopSignal = await Self.waitForStopSignal()
        logger.info("stopping", metadata: ["signal": "\(stopSignal)"])
        await runtime.stop()
    }

    /// Suspends until SIGINT or SIGTERM arrives.
    private static func waitForStopSignal() async -> Int32 {
        await withCheckedContinuation { continuation in
            let once = SignalOnce(continuation)
            for number in [SIGINT, SIGTERM] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { once.fire(number) }
                source.resume()
                once.keep(source)
            }
        }
    }
}
