import ArgumentParser
import CovataProxy
import Foundation

/// Asks the running proxy's admin listener whether it is ready: the image's health check, with no curl needed.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Ask the running proxy's admin listener (/readyz) whether it is ready; exit 0 when it is.",
        discussion:
            "Exit status: 0 ready, 1 not ready or not answering, 2 no admin listener configured (or a bad config). "
            + "With --live, whether it is alive (/healthz): a proxy whose credentials Covata rejected is alive and "
            + "not ready, so a liveness probe does not restart it into another password attempt.")

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Ask whether the proxy is alive (/healthz), not whether it holds a token (/readyz).")
    var live = false

    func run() async throws {
        let config = try options.load()
        switch await AdminProbe.readiness(config, live: live) {
        case .ready(let reason):
            print("ready: \(reason)")
        case .notReady(let reason):
            FileHandle.standardError.write(Data("covata-proxy: not ready: \(reason)\n".utf8))
            throw ExitCode(1)
        case .unreachable(let reason):
            FileHandle.standardError.write(Data("covata-proxy: the admin listener does not answer: \(reason)\n".utf8))
            throw ExitCode(1)
        case .cannotAsk(let reason):
            FileHandle.standardError.write(Data("covata-proxy: \(reason)\n".utf8))
            throw ExitCode(2)
        }
    }
}
