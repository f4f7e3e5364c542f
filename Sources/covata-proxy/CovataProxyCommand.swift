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
