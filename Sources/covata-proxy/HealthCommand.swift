import ArgumentParser
import CovataProxy
import Foundation

/// Asks the running proxy's admin listener whether it is ready: the image's health check, with no curl needed.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Ask the running proxy's admin listener (/readyz) whether it is ready; exit 0 when it is.",
        discussion:
            "Exit status: 0 ready, 1 not ready or not answering, 2 no admin listener configured (or a bad config).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.load()
        switch await AdminProbe.readiness(config) {
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
