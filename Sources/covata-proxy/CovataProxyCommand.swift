import ArgumentParser

@main
struct CovataProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "covata-proxy",
        abstract: "A sidecar that adds a Covata OAuth 2.0 bearer token to every request legacy tools send it.",
        subcommands: [RunCommand.self, CheckConfigCommand.self, TokenCommand.self, LoginCommand.self, HealthCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
