import ProxyObservability
import ArgumentParser
import CovataProxy

@main
struct CovataProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "covata-proxy",
        abstract: "A sidecar that adds a Covata OAuth 2.0 bearer token to every request legacy tools send it.",
        version: BuildInfo.line,
        subcommands: [
            RunCommand.self, CheckConfigCommand.self, TokenCommand.self, LoginCommand.self, HealthCommand.self,
            VersionCommand.self,
        ],
        defaultSubcommand: RunCommand.self
    )
}

/// `covata-proxy version`, the same line as `--version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Print the version, and the libcurl and Swift versions it runs with.")

    func run() { print(BuildInfo.line) }
}

/// Validates proxy.json exactly as `run` does, without starting anything.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate proxy.json and its secrets, then exit.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        print("configuration OK: \(config.routes.count) route(s)")
        for route in config.routes { print("  \(route.listen) -> \(route.upstream)") }
        for source in config.secretFiles {
            if let problem = source.exposure() { print("warning: \(source.keyPath): \(problem)") }
        }
        for hint in config.secretHints { print("warning: \(hint)") }
    }
}
